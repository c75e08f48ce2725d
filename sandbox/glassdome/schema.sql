-- glassdome-db: what the Glassdome API stores. The uniqueness rules are unique indexes with
-- the names Glassdome's own migrations give them (SYSTEMS.md section 1).
CREATE TABLE IF NOT EXISTS api_keys (
    api_key     text PRIMARY KEY,
    company_id  text NOT NULL
);
CREATE TABLE IF NOT EXISTS products (
    id           bigserial PRIMARY KEY,
    external_id  text NOT NULL,
    company_id   text NOT NULL,
    sku          text NOT NULL,
    status       text NOT NULL,
    create_time  timestamptz NOT NULL DEFAULT now(),
    update_time  timestamptz NOT NULL DEFAULT now(),
    delete_time  timestamptz,
    CONSTRAINT products_status_check CHECK (status IN ('ACTIVE', 'INACTIVE', 'DISCONTINUED'))
);
CREATE UNIQUE INDEX IF NOT EXISTS ux_products_company_external ON products (company_id, external_id);
CREATE UNIQUE INDEX IF NOT EXISTS ux_products_company_sku ON products (company_id, sku);
CREATE INDEX IF NOT EXISTS products_company_update_time ON products (company_id, update_time DESC, id DESC);
