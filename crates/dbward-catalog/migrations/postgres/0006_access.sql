-- dbward catalog, version 6: who may use the web dashboard and the HTTP API, and what they
-- did. Users hold an argon2id hash of their password (PHC string), API tokens only the
-- sha256 of the token, sessions only the sha256 of their id. Times are RFC 3339 UTC text
-- with milliseconds, as elsewhere. (Version 5 is another change's.)

CREATE TABLE users (
    name          TEXT COLLATE "C" PRIMARY KEY,
    role          TEXT COLLATE "C" NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TEXT COLLATE "C" NOT NULL
);

CREATE TABLE api_tokens (
    name       TEXT COLLATE "C" PRIMARY KEY,
    role       TEXT COLLATE "C" NOT NULL,
    sha256     TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at TEXT COLLATE "C" NOT NULL
);

CREATE TABLE sessions (
    id_sha256  TEXT COLLATE "C" PRIMARY KEY,
    user_name  TEXT COLLATE "C" NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    expires_at TEXT COLLATE "C" NOT NULL
);

CREATE TABLE audit_log (
    id         TEXT COLLATE "C" PRIMARY KEY,
    at         TEXT COLLATE "C" NOT NULL,
    actor_kind TEXT COLLATE "C" NOT NULL,
    actor      TEXT COLLATE "C" NOT NULL,
    action     TEXT COLLATE "C" NOT NULL,
    target     TEXT COLLATE "C" NOT NULL
);

CREATE INDEX audit_log_at ON audit_log (at);
