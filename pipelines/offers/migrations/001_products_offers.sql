-- The aggregator's catalogue (product CRUD comes later) and its cached offers.
CREATE TABLE IF NOT EXISTS products (
    id            uuid PRIMARY KEY,
    name          text NOT NULL,
    description   text,
    registered_at timestamptz          -- NULL until the offers service has accepted the product
);

CREATE TABLE IF NOT EXISTS offers (
    product_id     uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    id             uuid NOT NULL,
    price          integer NOT NULL,
    items_in_stock integer NOT NULL,
    synced_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (product_id, id)
);
