"""Reads a monthly series and every figure from stats over Arrow Flight into
pandas, and checks them against the gRPC answers.

Usage: python flight_series.py [--stats HOST:PORT] [--token TOKEN]
Run ./generate.sh first; the demo stack must be running (`autointel up --demo`),
whose group-00 is a synthetic carmaker.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen"))

import grpc  # noqa: E402
import pyarrow.flight as flight  # noqa: E402

from autointel.stats.v1 import flight_pb2, query_pb2, stats_service_pb2, stats_service_pb2_grpc  # noqa: E402
from autointel.type.v1 import period_pb2, series_pb2  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stats", default=os.environ.get("AUTOINTEL_STATS_ADDRESS", "127.0.0.1:50052"))
    parser.add_argument("--token", default=os.environ.get("AUTOINTEL_TOKEN"))
    args = parser.parse_args()
    headers = [(b"authorization", f"Bearer {args.token}".encode())] if args.token else []
    metadata = [(k.decode(), v.decode()) for k, v in headers]

    request = query_pb2.ComputeSeriesRequest(
        series=series_pb2.SeriesKey(
            organization="organizations/group-00",
            basis=series_pb2.MEASURE_BASIS_WHOLESALE,
            flow=series_pb2.FLOW_DOMESTIC,
            market="CN",
            scope=series_pb2.VEHICLE_SCOPE_PASSENGER,
            powertrain=series_pb2.POWERTRAIN_ALL,
        ),
        period=period_pb2.MonthRange(
            start=period_pb2.YearMonth(year=2022, month=1),
            end=period_pb2.YearMonth(year=2024, month=12),
        ),
        granularity=query_pb2.GRANULARITY_MONTH,
    )

    # The whole of it: a ticket is a FlightQuery, read into pandas.
    client = flight.connect(f"grpc://{args.stats}")
    options = flight.FlightCallOptions(headers=headers, timeout=30)
    ticket = flight.Ticket(flight_pb2.FlightQuery(series=request).SerializeToString())
    series = client.do_get(ticket, options).read_all()
    frame = series.to_pandas()
    print(frame.to_string(max_rows=8))
    print(f"sources: {series.schema.metadata[b'autointel.sources'].decode()}")

    # The same numbers as the gRPC answer (months without figures are null, not zero).
    with grpc.insecure_channel(args.stats) as channel:
        stub = stats_service_pb2_grpc.StatsServiceStub(channel)
        answer = stub.ComputeSeries(request, metadata=metadata, timeout=10)
        expected = [p.units if p.HasField("units") else None for p in answer.points]
        got = series.column("units").to_pylist()
        if got != expected:
            print(f"error: Flight units {got} differ from gRPC {expected}", file=sys.stderr)
            return 1
        if not any(u is not None for u in got):
            print("error: the series has no figures", file=sys.stderr)
            return 1

        # Every figure, at the mark GetFlightInfo pins, against a paged listing.
        query = flight_pb2.FlightQuery(figures=stats_service_pb2.ListSalesFiguresRequest())
        info = client.get_flight_info(flight.FlightDescriptor.for_command(query.SerializeToString()), options)
        figures = client.do_get(info.endpoints[0].ticket, options).read_all()
        listed, token = 0, ""
        while True:
            page = stub.ListSalesFigures(
                stats_service_pb2.ListSalesFiguresRequest(page_size=1000, page_token=token),
                metadata=metadata,
                timeout=10,
            )
            listed += len(page.sales_figures)
            token = page.next_page_token
            if not token:
                break
        if figures.num_rows != listed:
            print(f"error: Flight streamed {figures.num_rows} figures, the listing has {listed}", file=sys.stderr)
            return 1
    print(f"ok: {len(got)} months and {figures.num_rows} figures over Flight match the gRPC answers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
