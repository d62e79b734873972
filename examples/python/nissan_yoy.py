"""Asks the stats service for Nissan China's January–November 2023 sales
against the same months of 2022, and prints the change with its source.

Usage: python nissan_yoy.py [--stats HOST:PORT] [--token TOKEN]
Run ./generate.sh first; the local stack must be running (`autointel up`).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen"))

import grpc  # noqa: E402

from autointel.stats.v1 import query_pb2, stats_service_pb2_grpc  # noqa: E402
from autointel.type.v1 import period_pb2, series_pb2  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stats", default=os.environ.get("AUTOINTEL_STATS_ADDRESS", "127.0.0.1:50052"))
    parser.add_argument("--token", default=os.environ.get("AUTOINTEL_TOKEN"))
    args = parser.parse_args()

    request = query_pb2.ComputeChangeRequest(
        series=series_pb2.SeriesKey(
            organization="organizations/nissan-china",
            basis=series_pb2.MEASURE_BASIS_COMPANY_REPORTED,
            flow=series_pb2.FLOW_TOTAL,
            market="CN",
            scope=series_pb2.VEHICLE_SCOPE_ALL,
            powertrain=series_pb2.POWERTRAIN_ALL,
        ),
        period=period_pb2.MonthRange(
            start=period_pb2.YearMonth(year=2023, month=1),
            end=period_pb2.YearMonth(year=2023, month=11),
        ),
        comparison=query_pb2.COMPARISON_YEAR_OVER_YEAR,
    )
    metadata = [("authorization", f"Bearer {args.token}")] if args.token else []
    with grpc.insecure_channel(args.stats) as channel:
        stub = stats_service_pb2_grpc.StatsServiceStub(channel)
        try:
            response = stub.ComputeChange(request, metadata=metadata, timeout=10)
        except grpc.RpcError as error:
            print(f"error: {error.code().name}: {error.details()}", file=sys.stderr)
            return 1

    change = response.change
    print(f"current  {change.current_units:,}")
    print(f"prior    {change.prior_units:,}")
    print(f"change   {change.absolute_change:+,}")
    print(f"percent  {change.relative_change.percent}%")
    for source in response.provenance.sources:
        print(f"source   {source.publisher}: {source.title} ({source.name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
