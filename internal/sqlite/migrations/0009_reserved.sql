-- Placeholder for the purchases branch's migration 0009, so that this
-- branch's 0010_builds applies without a gap (the runner refuses gaps).
-- DELETE THIS FILE when merging with the branch that owns 0009.
SELECT 1;
