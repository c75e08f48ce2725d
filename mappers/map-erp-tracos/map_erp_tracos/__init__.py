"""Translation between the client ERP work-order format and TracOS work orders."""
