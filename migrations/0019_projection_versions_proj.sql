-- Versioned projections (README "Upgrading projections"): the definition (DDL + build SQL +
-- code version) a served projection was built from, so a changed definition is detected and
-- rebuilt beside the served table, then swapped in one transaction.
CREATE TABLE projection_versions (
    name        text PRIMARY KEY,
    version     text NOT NULL,
    built_block bigint,
    swapped_at  timestamptz NOT NULL DEFAULT now()
);
