-- Placeholder for the purchases branch's migration 0008, so that this
-- branch's 0009_builds applies without a gap (the runner refuses gaps).
-- DELETE THIS FILE when merging with the branch that owns 0008.
SELECT 1;
