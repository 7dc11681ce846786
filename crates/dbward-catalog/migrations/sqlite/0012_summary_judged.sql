-- dbward catalog, version 12: each `health_summary` row keeps the records of the backups
-- `status` judges (the newest ended, usable and succeeded backup and every backup of the
-- window with a copy found missing, with their copies, warnings and latest verification) as
-- one JSON array, written by the same refresh as the rest of the row, so `status` reads the
-- summaries alone instead of looking every judged backup and its copies up. The next `open`
-- recomputes every summary once (a chore).
ALTER TABLE health_summary ADD COLUMN judged TEXT;
INSERT INTO catalog_chores (name) VALUES ('health_summary') ON CONFLICT (name) DO NOTHING;
