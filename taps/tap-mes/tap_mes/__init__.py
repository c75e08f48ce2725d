"""tap-mes: Singer tap for SAP-shaped MES databases."""
