-- Benchmark data for scripts/bench.sh: builds the MariaDB bench database (pgbench-shaped tables for @scale plus bench_text with @rows random rows) in batched INSERT ... SELECT from the SEQUENCE engine, and records the build in bench_meta last (its presence means the database is complete).
-- The caller prepends: SET @scale = S, @rows = N, @generator = 'G';  and selects the database.
DROP TABLE IF EXISTS bench_meta, bench_text, pgbench_accounts, pgbench_tellers, pgbench_branches, pgbench_history;
DROP PROCEDURE IF EXISTS bench_fill;

-- Same shapes as pgbench -i: accounts carry an 84-character blank filler like pgbench's char(84)
-- (VARCHAR, because MariaDB strips CHAR padding on read and the dump would shrink).
CREATE TABLE pgbench_branches (bid INT NOT NULL PRIMARY KEY, bbalance INT NOT NULL, filler VARCHAR(88)) ENGINE=InnoDB;
CREATE TABLE pgbench_tellers (tid INT NOT NULL PRIMARY KEY, bid INT NOT NULL, tbalance INT NOT NULL, filler VARCHAR(84)) ENGINE=InnoDB;
CREATE TABLE pgbench_accounts (aid INT NOT NULL PRIMARY KEY, bid INT NOT NULL, abalance INT NOT NULL, filler VARCHAR(84)) ENGINE=InnoDB;
CREATE TABLE pgbench_history (tid INT, bid INT, aid INT, delta INT, mtime DATETIME, filler CHAR(22)) ENGINE=InnoDB;
CREATE TABLE bench_text (
    id         BIGINT        NOT NULL PRIMARY KEY,
    token      CHAR(32)      NOT NULL,
    qty        INT           NOT NULL,
    amount     DECIMAL(12,2) NOT NULL,
    created_at DATETIME(6)   NOT NULL,
    status     VARCHAR(16)   NOT NULL,
    city       VARCHAR(16)   NOT NULL,
    note       VARCHAR(64)   NOT NULL
) ENGINE=InnoDB;

DELIMITER //
-- Inserts in batches of 100,000 rows (one transaction each) to keep undo and redo small.
CREATE PROCEDURE bench_fill(IN scale INT, IN nrows BIGINT)
BEGIN
    DECLARE done BIGINT DEFAULT 0;
    INSERT INTO pgbench_branches SELECT seq, 0, NULL FROM seq_1_to_1000000 WHERE seq <= scale;
    INSERT INTO pgbench_tellers SELECT seq, 1 + (seq - 1) DIV 10, 0, NULL FROM seq_1_to_10000000 WHERE seq <= scale * 10;
    WHILE done < scale * 100000 DO
        INSERT INTO pgbench_accounts
        SELECT done + seq, 1 + (done + seq - 1) DIV 100000, 0, REPEAT(' ', 84)
          FROM seq_1_to_100000;
        SET done = done + 100000;
    END WHILE;
    SET done = 0;
    WHILE done < nrows DO
        INSERT INTO bench_text
        SELECT done + seq,
               MD5(RAND()),
               FLOOR(RAND() * 100000),
               ROUND(RAND() * 100000, 2),
               TIMESTAMP'2024-01-01 00:00:00' - INTERVAL FLOOR(RAND() * 86400000000000) MICROSECOND,
               ELT(1 + FLOOR(RAND() * 6), 'new','paid','packed','shipped','delivered','refunded'),
               ELT(1 + FLOOR(RAND() * 20), 'Berlin','Hamburg','Munich','Cologne','Frankfurt','Stuttgart','Dresden','Leipzig','Bremen','Hanover','Paris','Lyon','Madrid','Lisbon','Vienna','Prague','Warsaw','Oslo','Dublin','Rome'),
               CONCAT_WS(' ',
                 ELT(1 + FLOOR(RAND() * 30), 'alpha','bravo','charlie','delta','echo','foxtrot','golf','hotel','india','juliet','kilo','lima','mike','november','oscar','papa','quebec','romeo','sierra','tango','uniform','victor','whiskey','xray','yankee','zulu','invoice','order','refund','shipment'),
                 ELT(1 + FLOOR(RAND() * 30), 'alpha','bravo','charlie','delta','echo','foxtrot','golf','hotel','india','juliet','kilo','lima','mike','november','oscar','papa','quebec','romeo','sierra','tango','uniform','victor','whiskey','xray','yankee','zulu','invoice','order','refund','shipment'),
                 ELT(1 + FLOOR(RAND() * 30), 'alpha','bravo','charlie','delta','echo','foxtrot','golf','hotel','india','juliet','kilo','lima','mike','november','oscar','papa','quebec','romeo','sierra','tango','uniform','victor','whiskey','xray','yankee','zulu','invoice','order','refund','shipment'),
                 ELT(1 + FLOOR(RAND() * 30), 'alpha','bravo','charlie','delta','echo','foxtrot','golf','hotel','india','juliet','kilo','lima','mike','november','oscar','papa','quebec','romeo','sierra','tango','uniform','victor','whiskey','xray','yankee','zulu','invoice','order','refund','shipment'))
          FROM seq_1_to_100000
         WHERE done + seq <= nrows;
        SET done = done + 100000;
    END WHILE;
END //
DELIMITER ;

CALL bench_fill(@scale, @rows);
DROP PROCEDURE bench_fill;
ANALYZE TABLE pgbench_accounts, bench_text;
CREATE TABLE bench_meta (k VARCHAR(32) NOT NULL PRIMARY KEY, v VARCHAR(64) NOT NULL) ENGINE=InnoDB;
INSERT INTO bench_meta VALUES ('scale', @scale), ('rows', @rows), ('generator', @generator);
