-- Operators (the vendor's support engineers) and their API tokens; names,
-- scopes and lifetimes of account tokens; disabled accounts; and the account
-- an operator acted for in the audit log.

CREATE TABLE operators (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE, -- always stored lower case
    created_at  INTEGER NOT NULL,
    disabled_at INTEGER -- NULL: enabled; a disabled operator's tokens do not work
) STRICT;

-- Like api_tokens: only a SHA-256 of each token is kept.
CREATE TABLE operator_tokens (
    id           INTEGER PRIMARY KEY,
    operator_id  INTEGER NOT NULL REFERENCES operators (id),
    prefix       TEXT NOT NULL UNIQUE,
    hash         BLOB NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    scopes       TEXT NOT NULL, -- comma-joined
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    expires_at   INTEGER, -- NULL: until revoked
    revoked_at   INTEGER
) STRICT;
CREATE INDEX operator_tokens_operator ON operator_tokens (operator_id);

ALTER TABLE api_tokens ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;
-- A token made before scopes existed could do everything its account can:
-- it keeps every account scope.
UPDATE api_tokens SET scopes = 'licenses:read,licenses:write,purchases:write,activations:write,validate,attach,audit:read,tokens:write';

ALTER TABLE accounts ADD COLUMN disabled_at INTEGER;

ALTER TABLE audit ADD COLUMN on_behalf_of TEXT; -- the account an operator acted for
