-- MES database (mes-db): SAP-shaped material tables plus production orders.
CREATE TABLE IF NOT EXISTS mara (            -- material master
    matnr       text PRIMARY KEY,            -- material number, e.g. MAT-1001
    mtart       text NOT NULL DEFAULT 'FERT',-- material type
    matkl       text,                        -- material group
    meins       text NOT NULL DEFAULT 'EA',  -- base unit
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz
);
CREATE TABLE IF NOT EXISTS makt (            -- material descriptions per language
    matnr       text NOT NULL REFERENCES mara(matnr),
    spras       text NOT NULL,               -- language key
    maktx       text NOT NULL,               -- description
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (matnr, spras)
);
CREATE TABLE IF NOT EXISTS mvke (            -- sales data per material, sales org, channel
    matnr       text NOT NULL REFERENCES mara(matnr),
    vkorg       text NOT NULL,               -- sales organisation
    vtweg       text NOT NULL,               -- distribution channel
    sku         text NOT NULL,
    status      text NOT NULL,               -- MES spelling: active, released, blocked, ...
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz,
    PRIMARY KEY (matnr, vkorg, vtweg)
);
CREATE TABLE IF NOT EXISTS marm (            -- alternative units of measure
    matnr       text NOT NULL REFERENCES mara(matnr),
    meinh       text NOT NULL,
    umrez       integer NOT NULL,            -- numerator
    umren       integer NOT NULL,            -- denominator
    PRIMARY KEY (matnr, meinh)
);
CREATE TABLE IF NOT EXISTS production_orders (
    order_id        bigint PRIMARY KEY,
    material_number text NOT NULL,
    sku             text NOT NULL,
    status          text NOT NULL,
    quantity        numeric(13, 3) NOT NULL,
    plant           text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz
);
CREATE INDEX IF NOT EXISTS production_orders_updated_at ON production_orders (updated_at);
CREATE INDEX IF NOT EXISTS mvke_updated_at ON mvke (updated_at);
CREATE INDEX IF NOT EXISTS mara_updated_at ON mara (updated_at);
