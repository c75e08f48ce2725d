-- Hand-picked rows holding the cases that make the MES -> Glassdome mapping hard.
INSERT INTO mara (matnr, matkl, created_at, updated_at, deleted_at) VALUES
  ('MAT-1001', 'PUMPS',  '2024-01-02T08:00:00Z', '2024-03-01T10:00:00Z', NULL),
  ('MAT-1002', 'PUMPS',  '2024-01-03T08:00:00Z', '2024-03-02T10:00:00Z', NULL),
  ('MAT-1003', 'VALVES', '2024-01-04T08:00:00Z', '2024-03-03T10:00:00Z', NULL),
  ('MAT-1004', 'VALVES', '2024-01-05T08:00:00Z', '2024-03-04T10:00:00Z', NULL),
  ('MAT-1005', 'SEALS',  '2024-01-06T08:00:00Z', '2024-03-05T10:00:00Z', NULL),
  ('MAT-1006', 'SEALS',  '2024-01-07T08:00:00Z', '2024-03-06T10:00:00Z', NULL),
  ('MAT-1007', 'MOTORS', '2024-01-08T08:00:00Z', '2024-03-07T10:00:00Z', NULL),
  ('MAT-1008', 'MOTORS', '2024-01-09T08:00:00Z', '2024-03-08T10:00:00Z', '2024-04-01T00:00:00Z')
ON CONFLICT DO NOTHING;

INSERT INTO makt (matnr, spras, maktx, updated_at) VALUES
  ('MAT-1001', 'EN', 'Centrifugal pump 2"', '2024-03-01T10:00:00Z'),
  ('MAT-1001', 'DE', 'Kreiselpumpe 2"',     '2024-03-01T10:00:00Z'),
  ('MAT-1002', 'EN', 'Diaphragm pump',      '2024-03-02T10:00:00Z'),
  ('MAT-1003', 'EN', 'Ball valve DN50',     '2024-03-03T10:00:00Z'),
  ('MAT-1004', 'EN', 'Gate valve DN80',     '2024-03-04T10:00:00Z'),
  ('MAT-1005', 'EN', 'O-ring kit, NBR',     '2024-03-05T10:00:00Z'),
  ('MAT-1006', 'EN', 'Shaft seal 40mm',     '2024-03-06T10:00:00Z'),
  ('MAT-1007', 'EN', 'Motor 5.5 kW, IE3',   '2024-03-07T10:00:00Z'),
  ('MAT-1008', 'EN', 'Motor 7.5 kW (old)',  '2024-03-08T10:00:00Z')
ON CONFLICT DO NOTHING;

-- MAT-1001: sku differs from the SKU-ALPHA already in Glassdome.
-- MAT-1002: ACTIVE in org 1000, INACTIVE in org 2000 (the later row wins).
-- Status spellings as MES writes them: lower case, trailing spaces, released/blocked.
INSERT INTO mvke (matnr, vkorg, vtweg, sku, status, updated_at) VALUES
  ('MAT-1001', '1000', '10', 'SKU-ALPHA-NEW', 'active',       '2024-03-10T09:00:00Z'),
  ('MAT-1002', '1000', '10', 'SKU-BETA',      'ACTIVE',       '2024-03-10T09:00:00Z'),
  ('MAT-1002', '2000', '10', 'SKU-BETA',      'INACTIVE',     '2024-03-12T09:00:00Z'),
  ('MAT-1003', '1000', '10', 'SKU-GAMMA',     'released',     '2024-03-10T09:00:00Z'),
  ('MAT-1004', '1000', '10', ' sku-delta ',   'blocked',      '2024-03-10T09:00:00Z'),
  ('MAT-1005', '1000', '10', 'SKU-EPSILON',   'Active  ',     '2024-03-10T09:00:00Z'),
  ('MAT-1006', '1000', '10', 'SKU-ZETA',      'discontinued', '2024-03-10T09:00:00Z'),
  ('MAT-1007', '1000', '10', 'SKU-ETA',       'inactive',     '2024-03-10T09:00:00Z'),
  ('MAT-1008', '1000', '10', 'SKU-THETA',     'blocked',     '2024-03-10T09:00:00Z')
ON CONFLICT DO NOTHING;

INSERT INTO marm (matnr, meinh, umrez, umren) VALUES
  ('MAT-1001', 'PAL', 24, 1),
  ('MAT-1005', 'BOX', 50, 1),
  ('MAT-1005', 'PAK', 10, 1)
ON CONFLICT DO NOTHING;

-- Several orders per material; one soft-deleted; some updated after an earlier sync.
INSERT INTO production_orders
  (order_id, material_number, sku, status, quantity, plant, created_at, updated_at, deleted_at) VALUES
  (100001, 'MAT-1001', 'SKU-ALPHA',     'active',    10,     'P100', '2024-03-01T08:00:00Z', '2024-03-01T08:00:00Z', NULL),
  (100002, 'MAT-1001', 'SKU-ALPHA-NEW', 'ACTIVE ',   25.5,   'P100', '2024-03-05T08:00:00Z', '2024-03-15T12:00:00Z', NULL),
  (100003, 'MAT-1002', 'SKU-BETA',      'ACTIVE',    5,      'P100', '2024-03-02T08:00:00Z', '2024-03-02T08:00:00Z', NULL),
  (100004, 'MAT-1002', 'SKU-BETA',      'INACTIVE',  7,      'P200', '2024-03-03T08:00:00Z', '2024-03-12T09:30:00Z', NULL),
  (100005, 'MAT-1003', 'SKU-GAMMA',     'released',  100,    'P100', '2024-03-03T08:00:00Z', '2024-03-03T08:00:00Z', NULL),
  (100006, 'MAT-1004', ' sku-delta ',   'blocked',   1,      'P200', '2024-03-04T08:00:00Z', '2024-03-04T08:00:00Z', NULL),
  (100007, 'MAT-1005', 'SKU-EPSILON',   'Active  ',  12.125, 'P100', '2024-03-05T08:00:00Z', '2024-03-05T08:00:00Z', NULL),
  (100008, 'MAT-1006', 'SKU-ZETA',      'discontinued', 3,   'P300', '2024-03-06T08:00:00Z', '2024-03-06T08:00:00Z', NULL),
  (100009, 'MAT-1007', 'SKU-ETA',       'inactive',  8,      'P300', '2024-03-07T08:00:00Z', '2024-03-07T08:00:00Z', NULL),
  (100010, 'MAT-1007', 'SKU-ETA',       'released',  9,      'P300', '2024-03-08T08:00:00Z', '2024-03-20T16:45:00Z', NULL),
  (100011, 'MAT-1008', 'SKU-THETA',     'blocked',   2,      'P100', '2024-03-08T08:00:00Z', '2024-04-01T00:00:00Z', '2024-04-01T00:00:00Z'),
  (100012, 'MAT-1003', 'SKU-GAMMA',     'released',  40,     'P200', '2024-03-09T08:00:00Z', '2024-03-09T08:00:00Z', NULL)
ON CONFLICT DO NOTHING;
