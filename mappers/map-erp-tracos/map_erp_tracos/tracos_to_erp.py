"""tracos-to-erp: TracOS work orders (stream workorders) -> ERP work orders (stream work_orders)."""

from __future__ import annotations

from typing import Any

from connector_kit.config_files import run_cli
from typing_extensions import override

from map_erp_tracos import work_orders
from map_erp_tracos.mapping import WorkOrderMapper


class TracosToErpMapper(WorkOrderMapper):
    name = "tracos-to-erp"
    source_stream = work_orders.TRACOS_STREAM
    target_stream = work_orders.ERP_STREAM
    target_key = "orderNo"
    target_bookmark = "lastUpdateDate"

    @override
    def translate(self, record: dict[str, Any]) -> dict[str, Any]:
        return work_orders.tracos_to_erp(record)

    @override
    def target_schema(self) -> dict[str, Any]:
        return work_orders.erp_schema()


def main() -> None:
    """Console entry point (`tracos-to-erp --config file.yaml`)."""
    run_cli(TracosToErpMapper.cli)


if __name__ == "__main__":
    main()
