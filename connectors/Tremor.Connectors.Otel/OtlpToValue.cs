using Google.Protobuf;
using Google.Protobuf.Collections;
using Tremor.Connectors.Otel.Proto.Collector.Logs;
using Tremor.Connectors.Otel.Proto.Collector.Metrics;
using Tremor.Connectors.Otel.Proto.Collector.Trace;
using Tremor.Connectors.Otel.Proto.Common;
using Tremor.Connectors.Otel.Proto.Logs;
using Tremor.Connectors.Otel.Proto.Metrics;
using Tremor.Connectors.Otel.Proto.Trace;
using Tremor.Pdk;
using OtelResource = Tremor.Connectors.Otel.Proto.Resources.Resource;

namespace Tremor.Connectors.Otel;

/// <summary>
/// An OTLP export request as a Tremor event: Tremor's shape (<c>{"logs": [...]}</c>, <c>{"metrics": [...]}</c>,
/// <c>{"trace": [...]}</c>, attributes as records, ids as lowercase hex) with the current OTLP names for the scope level
/// (<c>scope_logs</c> and <c>scope</c>, which replaced <c>instrumentation_library_logs</c> in OTLP 1.0). Every field of
/// the message is kept, so <see cref="ValueToOtlp"/> makes the same message again.
/// </summary>
internal static class OtlpToValue
{
    public static Value Logs(ExportLogsServiceRequest request)
    {
        var resources = new List<Value>(request.ResourceLogs.Count);
        foreach (var r in request.ResourceLogs)
        {
            var scopes = new List<Value>(r.ScopeLogs.Count);
            foreach (var s in r.ScopeLogs)
            {
                var logs = new List<Value>(s.LogRecords.Count);
                foreach (var l in s.LogRecords) logs.Add(LogRecord(l));
                scopes.Add(Scoped(s.Scope, s.SchemaUrl, "logs", logs));
            }
            resources.Add(Resourced(r.Resource, r.SchemaUrl, "scope_logs", scopes));
        }
        return Top("logs", resources);
    }

    public static Value Metrics(ExportMetricsServiceRequest request)
    {
        var resources = new List<Value>(request.ResourceMetrics.Count);
        foreach (var r in request.ResourceMetrics)
        {
            var scopes = new List<Value>(r.ScopeMetrics.Count);
            foreach (var s in r.ScopeMetrics)
            {
                var metrics = new List<Value>(s.Metrics.Count);
                foreach (var m in s.Metrics) metrics.Add(Metric(m));
                scopes.Add(Scoped(s.Scope, s.SchemaUrl, "metrics", metrics));
            }
            resources.Add(Resourced(r.Resource, r.SchemaUrl, "scope_metrics", scopes));
        }
        return Top("metrics", resources);
    }

    public static Value Trace(ExportTraceServiceRequest request)
    {
        var resources = new List<Value>(request.ResourceSpans.Count);
        foreach (var r in request.ResourceSpans)
        {
            var scopes = new List<Value>(r.ScopeSpans.Count);
            foreach (var s in r.ScopeSpans)
            {
                var spans = new List<Value>(s.Spans.Count);
                foreach (var span in s.Spans) spans.Add(Span(span));
                scopes.Add(Scoped(s.Scope, s.SchemaUrl, "spans", spans));
            }
            resources.Add(Resourced(r.Resource, r.SchemaUrl, "scope_spans", scopes));
        }
        return Top("trace", resources);
    }

    private static Value Top(string key, List<Value> resources)
    {
        var top = new ValueRecord(1);
        top.Set(key, Value.From(resources));
        return Value.From(top);
    }

    private static Value Resourced(OtelResource? resource, string schemaUrl, string key, List<Value> scopes)
    {
        var record = new ValueRecord(3);
        if (resource is not null)
        {
            var r = new ValueRecord(2);
            r.Set("attributes", Attributes(resource.Attributes));
            r.Set("dropped_attributes_count", resource.DroppedAttributesCount);
            record.Set("resource", Value.From(r));
        }
        record.Set("schema_url", schemaUrl);
        record.Set(key, Value.From(scopes));
        return Value.From(record);
    }

    private static Value Scoped(InstrumentationScope? scope, string schemaUrl, string key, List<Value> items)
    {
        var record = new ValueRecord(3);
        if (scope is not null)
        {
            var s = new ValueRecord(4);
            s.Set("name", scope.Name);
            s.Set("version", scope.Version);
            s.Set("attributes", Attributes(scope.Attributes));
            s.Set("dropped_attributes_count", scope.DroppedAttributesCount);
            record.Set("scope", Value.From(s));
        }
        record.Set("schema_url", schemaUrl);
        record.Set(key, Value.From(items));
        return Value.From(record);
    }

    private static Value LogRecord(LogRecord l)
    {
        var r = new ValueRecord(12);
        r.Set("time_unix_nano", Value.From(l.TimeUnixNano));
        r.Set("observed_time_unix_nano", Value.From(l.ObservedTimeUnixNano));
        r.Set("severity_number", (long)l.SeverityNumber);
        r.Set("severity_text", l.SeverityText);
        r.Set("body", l.Body is null ? Value.Null : Any(l.Body));
        r.Set("attributes", Attributes(l.Attributes));
        r.Set("dropped_attributes_count", l.DroppedAttributesCount);
        r.Set("flags", l.Flags);
        r.Set("trace_id", Hex(l.TraceId));
        r.Set("span_id", Hex(l.SpanId));
        r.Set("event_name", l.EventName);
        return Value.From(r);
    }

    private static Value Metric(Metric m)
    {
        var r = new ValueRecord(5);
        r.Set("name", m.Name);
        r.Set("description", m.Description);
        r.Set("unit", m.Unit);
        var data = new ValueRecord(1);
        switch (m.DataCase)
        {
            case Proto.Metrics.Metric.DataOneofCase.Gauge:
                data.Set("gauge", Record(("data_points", NumberPoints(m.Gauge.DataPoints))));
                break;
            case Proto.Metrics.Metric.DataOneofCase.Sum:
                data.Set("sum", Record(
                    ("data_points", NumberPoints(m.Sum.DataPoints)),
                    ("aggregation_temporality", (long)m.Sum.AggregationTemporality),
                    ("is_monotonic", m.Sum.IsMonotonic)));
                break;
            case Proto.Metrics.Metric.DataOneofCase.Histogram:
                data.Set("histogram", Record(
                    ("data_points", Value.From(m.Histogram.DataPoints.Select(HistogramPoint).ToList())),
                    ("aggregation_temporality", (long)m.Histogram.AggregationTemporality)));
                break;
            case Proto.Metrics.Metric.DataOneofCase.ExponentialHistogram:
                data.Set("exponential_histogram", Record(
                    ("data_points", Value.From(m.ExponentialHistogram.DataPoints.Select(ExponentialPoint).ToList())),
                    ("aggregation_temporality", (long)m.ExponentialHistogram.AggregationTemporality)));
                break;
            case Proto.Metrics.Metric.DataOneofCase.Summary:
                data.Set("summary", Record(("data_points", Value.From(m.Summary.DataPoints.Select(SummaryPoint).ToList()))));
                break;
        }
        r.Set("data", Value.From(data));
        if (m.Metadata.Count > 0) r.Set("metadata", Attributes(m.Metadata));
        return Value.From(r);
    }

    private static Value NumberPoints(RepeatedField<NumberDataPoint> points)
    {
        var list = new List<Value>(points.Count);
        foreach (var p in points)
        {
            var r = Point(p.Attributes, p.StartTimeUnixNano, p.TimeUnixNano, p.Flags);
            switch (p.ValueCase)
            {
                case NumberDataPoint.ValueOneofCase.AsDouble: r.Set("value", p.AsDouble); break;
                case NumberDataPoint.ValueOneofCase.AsInt: r.Set("value", p.AsInt); break;
            }
            r.Set("exemplars", Exemplars(p.Exemplars));
            list.Add(Value.From(r));
        }
        return Value.From(list);
    }

    private static Value HistogramPoint(HistogramDataPoint p)
    {
        var r = Point(p.Attributes, p.StartTimeUnixNano, p.TimeUnixNano, p.Flags);
        r.Set("count", Value.From(p.Count));
        if (p.HasSum) r.Set("sum", p.Sum);
        r.Set("bucket_counts", Value.From(p.BucketCounts.Select(Value.From).ToList()));
        r.Set("explicit_bounds", Value.From(p.ExplicitBounds.Select(b => Value.From(b)).ToList()));
        if (p.HasMin) r.Set("min", p.Min);
        if (p.HasMax) r.Set("max", p.Max);
        r.Set("exemplars", Exemplars(p.Exemplars));
        return Value.From(r);
    }

    private static Value ExponentialPoint(ExponentialHistogramDataPoint p)
    {
        var r = Point(p.Attributes, p.StartTimeUnixNano, p.TimeUnixNano, p.Flags);
        r.Set("count", Value.From(p.Count));
        if (p.HasSum) r.Set("sum", p.Sum);
        r.Set("scale", p.Scale);
        r.Set("zero_count", Value.From(p.ZeroCount));
        r.Set("zero_threshold", p.ZeroThreshold);
        if (p.Positive is not null) r.Set("positive", Buckets(p.Positive));
        if (p.Negative is not null) r.Set("negative", Buckets(p.Negative));
        if (p.HasMin) r.Set("min", p.Min);
        if (p.HasMax) r.Set("max", p.Max);
        r.Set("exemplars", Exemplars(p.Exemplars));
        return Value.From(r);
    }

    private static Value Buckets(ExponentialHistogramDataPoint.Types.Buckets b) =>
        Record(("offset", b.Offset), ("bucket_counts", Value.From(b.BucketCounts.Select(Value.From).ToList())));

    private static Value SummaryPoint(SummaryDataPoint p)
    {
        var r = Point(p.Attributes, p.StartTimeUnixNano, p.TimeUnixNano, p.Flags);
        r.Set("count", Value.From(p.Count));
        r.Set("sum", p.Sum);
        r.Set("quantile_values", Value.From(p.QuantileValues.Select(q => Record(("quantile", q.Quantile), ("value", q.Value))).ToList()));
        return Value.From(r);
    }

    private static ValueRecord Point(RepeatedField<KeyValue> attributes, ulong start, ulong time, uint flags)
    {
        var r = new ValueRecord(10);
        r.Set("attributes", Attributes(attributes));
        r.Set("start_time_unix_nano", Value.From(start));
        r.Set("time_unix_nano", Value.From(time));
        r.Set("flags", flags);
        return r;
    }

    private static Value Exemplars(RepeatedField<Exemplar> exemplars)
    {
        var list = new List<Value>(exemplars.Count);
        foreach (var e in exemplars)
        {
            var r = new ValueRecord(5);
            r.Set("filtered_attributes", Attributes(e.FilteredAttributes));
            r.Set("time_unix_nano", Value.From(e.TimeUnixNano));
            switch (e.ValueCase)
            {
                case Exemplar.ValueOneofCase.AsDouble: r.Set("value", e.AsDouble); break;
                case Exemplar.ValueOneofCase.AsInt: r.Set("value", e.AsInt); break;
            }
            r.Set("span_id", Hex(e.SpanId));
            r.Set("trace_id", Hex(e.TraceId));
            list.Add(Value.From(r));
        }
        return Value.From(list);
    }

    private static Value Span(Span s)
    {
        var r = new ValueRecord(17);
        r.Set("trace_id", Hex(s.TraceId));
        r.Set("span_id", Hex(s.SpanId));
        r.Set("parent_span_id", Hex(s.ParentSpanId));
        r.Set("trace_state", s.TraceState);
        r.Set("flags", s.Flags);
        r.Set("name", s.Name);
        r.Set("kind", (long)s.Kind);
        r.Set("start_time_unix_nano", Value.From(s.StartTimeUnixNano));
        r.Set("end_time_unix_nano", Value.From(s.EndTimeUnixNano));
        r.Set("attributes", Attributes(s.Attributes));
        r.Set("dropped_attributes_count", s.DroppedAttributesCount);
        r.Set("events", Value.From(s.Events.Select(e => Record(
            ("time_unix_nano", Value.From(e.TimeUnixNano)),
            ("name", e.Name),
            ("attributes", Attributes(e.Attributes)),
            ("dropped_attributes_count", e.DroppedAttributesCount))).ToList()));
        r.Set("dropped_events_count", s.DroppedEventsCount);
        r.Set("links", Value.From(s.Links.Select(l => Record(
            ("trace_id", Hex(l.TraceId)),
            ("span_id", Hex(l.SpanId)),
            ("trace_state", l.TraceState),
            ("attributes", Attributes(l.Attributes)),
            ("dropped_attributes_count", l.DroppedAttributesCount),
            ("flags", l.Flags))).ToList()));
        r.Set("dropped_links_count", s.DroppedLinksCount);
        if (s.Status is { } status) r.Set("status", Record(("code", (long)status.Code), ("message", status.Message)));
        return Value.From(r);
    }

    /// <summary>Attributes as a record (a later duplicate key wins); a key without a value is null.</summary>
    public static Value Attributes(RepeatedField<KeyValue> attributes)
    {
        var r = new ValueRecord(attributes.Count);
        foreach (var kv in attributes) r.Set(kv.Key, kv.Value is null ? Value.Null : Any(kv.Value));
        return Value.From(r);
    }

    public static Value Any(AnyValue v) => v.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => v.StringValue,
        AnyValue.ValueOneofCase.BoolValue => v.BoolValue,
        AnyValue.ValueOneofCase.IntValue => v.IntValue,
        AnyValue.ValueOneofCase.DoubleValue => v.DoubleValue,
        AnyValue.ValueOneofCase.ArrayValue => Value.From(v.ArrayValue.Values.Select(Any).ToList()),
        AnyValue.ValueOneofCase.KvlistValue => Attributes(v.KvlistValue.Values),
        AnyValue.ValueOneofCase.BytesValue => Value.From(v.BytesValue.ToByteArray()),
        _ => Value.Null,
    };

    /// <summary>Trace and span ids as lowercase hex, as OTLP/JSON writes them; an absent id is "".</summary>
    public static Value Hex(ByteString id) => id.IsEmpty ? string.Empty : Convert.ToHexStringLower(id.Span);

    private static Value Record(params (string Key, Value Value)[] fields)
    {
        var r = new ValueRecord(fields.Length);
        foreach (var (key, value) in fields) r.Set(key, value);
        return Value.From(r);
    }
}
