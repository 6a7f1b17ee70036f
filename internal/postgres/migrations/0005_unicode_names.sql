-- The SQLite store's migration 0006 (unicode_names) on PostgreSQL: company
-- names are unique per account, and found by --company and --search, in
-- their folded form (NFC under full Unicode case folding,
-- licensing.FoldName), and machine names are found by --machine and --search
-- the same way. lower() in the "C" collation folds ASCII only, so the store
-- writes the folded form beside each name, and this migration's Go step
-- (foldNames in migrate.go) fills it in for the rows that exist. Until then
-- the new columns are NULL, which a unique index lets repeat.

ALTER TABLE companies ADD COLUMN name_folded TEXT COLLATE "C";
CREATE UNIQUE INDEX companies_account_name_folded ON companies (account_id, name_folded);

ALTER TABLE activations ADD COLUMN machine_folded TEXT COLLATE "C";
CREATE INDEX activations_machine_folded ON activations (machine_folded);
