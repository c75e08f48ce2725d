"""erp-to-tracos: ERP work orders (stream work_orders) -> TracOS work orders (stream workorders)."""

from __future__ import annotations

from typing import Any

from connector_kit.config_files import run_cli
from typing_extensions import override

from map_erp_tracos import work_orders
from map_erp_tracos.mapping import WorkOrderMapper


class ErpToTracosMapper(WorkOrderMapper):
    name = "erp-to-tracos"
    source_stream = work_orders.ERP_STREAM
    target_stream = work_orders.TRACOS_STREAM
    target_key = "number"
    target_bookmark = "updatedAt"

    @override
    def translate(self, record: dict[str, Any]) -> dict[str, Any]:
        return work_orders.erp_to_tracos(record)

    @override
    def target_schema(self) -> dict[str, Any]:
        return work_orders.TRACOS_SCHEMA


def main() -> None:
    """Console entry point (`erp-to-tracos --config file.yaml`)."""
    run_cli(ErpToTracosMapper.cli)


if __name__ == "__main__":
    main()
