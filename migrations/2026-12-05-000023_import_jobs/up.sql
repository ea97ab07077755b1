-- Imports run in the background (the console wizard's larger files, the admin API's
-- `?background=true`): their progress and outcome, which any Roster process can show. The
-- process running one updates `updated_at` twice a second; a running job whose row stopped
-- moving was interrupted (its process ended; the import's transaction was never committed).
CREATE TABLE import_jobs (
    tenant_id  uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id         uuid        NOT NULL,
    file_name  text        CHECK (length(file_name) <= 400),
    state      text        NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    phase      text        NOT NULL CHECK (length(phase) <= 200),
    done       integer     NOT NULL DEFAULT 0 CHECK (done >= 0),
    total      integer     NOT NULL DEFAULT 0 CHECK (total >= 0),
    report     jsonb,
    error      text        CHECK (length(error) <= 4000),
    status     integer,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX import_jobs_updated ON import_jobs (updated_at);
