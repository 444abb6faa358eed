using System.Globalization;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Tremor.Connectors.Otel.Proto.Common;
using Tremor.Connectors.Otel.Proto.Logs;
using Tremor.Connectors.Otel.Proto.Metrics;
using Tremor.Connectors.Otel.Proto.Trace;
using Tremor.Pdk;
using OtelResource = Tremor.Connectors.Otel.Proto.Resources.Resource;

namespace Tremor.Connectors.Otel;

/// <summary>An event that is not an OTLP event of the documented shape; the message names the field (a path in the event).</summary>
internal sealed class OtlpShapeException(string path, string message) : Exception($"{path}: {message}");

/// <summary>
/// A Tremor OTLP event (the shape <see cref="OtlpToValue"/> makes) back into OTLP messages. Absent fields take their
/// protobuf defaults; a field of the wrong type is an <see cref="OtlpShapeException"/> naming it. Tremor's older names
/// are read too: <c>instrumentation_library_logs</c> / <c>_metrics</c> / <c>_spans</c> and <c>instrumentation_library</c>,
/// the metric kinds <c>double-gauge</c>, <c>int-sum</c>, ... and point attributes named <c>labels</c>.
/// </summary>
internal static class ValueToOtlp
{
    public static List<ResourceLogs> Logs(Value logs, string path)
    {
        var result = new List<ResourceLogs>();
        foreach (var (r, rp) in Items(logs, path))
        {
            var resource = new ResourceLogs { Resource = Resource(r["resource"], $"{rp}.resource"), SchemaUrl = Str(r, "schema_url", rp) };
            foreach (var (s, sp) in Items(Either(r, "scope_logs", "instrumentation_library_logs", rp, out var key), $"{rp}.{key}"))
            {
                var scope = new ScopeLogs { Scope = Scope(s, sp), SchemaUrl = Str(s, "schema_url", sp) };
                foreach (var (l, lp) in Items(Either(s, "logs", "log_records", sp, out var logsKey), $"{sp}.{logsKey}"))
                {
                    var severity = Int(l, "severity_number", lp);
                    if (severity is < 0 or > 24) throw new OtlpShapeException($"{lp}.severity_number", $"must be between 0 and 24, found {severity}");
                    var record = new LogRecord
                    {
                        TimeUnixNano = U64(l, "time_unix_nano", lp),
                        ObservedTimeUnixNano = U64(l, "observed_time_unix_nano", lp),
                        SeverityNumber = (SeverityNumber)severity,
                        SeverityText = Str(l, "severity_text", lp),
                        DroppedAttributesCount = U32(l, "dropped_attributes_count", lp),
                        Flags = U32(l, "flags", lp),
                        TraceId = Id(l, "trace_id", lp, 16),
                        SpanId = Id(l, "span_id", lp, 8),
                        EventName = Str(l, "event_name", lp),
                    };
                    if (l.AsRecord()!.TryGetValue("body", out var body)) record.Body = Any(body);
                    Attributes(l["attributes"], $"{lp}.attributes", record.Attributes);
                    scope.LogRecords.Add(record);
                }
                resource.ScopeLogs.Add(scope);
            }
            result.Add(resource);
        }
        return result;
    }

    public static List<ResourceMetrics> Metrics(Value metrics, string path)
    {
        var result = new List<ResourceMetrics>();
        foreach (var (r, rp) in Items(metrics, path))
        {
            var resource = new ResourceMetrics { Resource = Resource(r["resource"], $"{rp}.resource"), SchemaUrl = Str(r, "schema_url", rp) };
            foreach (var (s, sp) in Items(Either(r, "scope_metrics", "instrumentation_library_metrics", rp, out var key), $"{rp}.{key}"))
            {
                var scope = new ScopeMetrics { Scope = Scope(s, sp), SchemaUrl = Str(s, "schema_url", sp) };
                foreach (var (m, mp) in Items(s["metrics"], $"{sp}.metrics")) scope.Metrics.Add(Metric(m, mp));
                resource.ScopeMetrics.Add(scope);
            }
            result.Add(resource);
        }
        return result;
    }

    public static List<ResourceSpans> Trace(Value trace, string path)
    {
        var result = new List<ResourceSpans>();
        foreach (var (r, rp) in Items(trace, path))
        {
            var resource = new ResourceSpans { Resource = Resource(r["resource"], $"{rp}.resource"), SchemaUrl = Str(r, "schema_url", rp) };
            foreach (var (s, sp) in Items(Either(r, "scope_spans", "instrumentation_library_spans", rp, out var key), $"{rp}.{key}"))
            {
                var scope = new ScopeSpans { Scope = Scope(s, sp), SchemaUrl = Str(s, "schema_url", sp) };
                foreach (var (span, p) in Items(s["spans"], $"{sp}.spans")) scope.Spans.Add(Span(span, p));
                resource.ScopeSpans.Add(scope);
            }
            result.Add(resource);
        }
        return result;
    }

    private static Metric Metric(Value m, string path)
    {
        var metric = new Metric { Name = Str(m, "name", path), Description = Str(m, "description", path), Unit = Str(m, "unit", path) };
        Attributes(m["metadata"], $"{path}.metadata", metric.Metadata);
        var data = m["data"];
        var dp = $"{path}.data";
        if (data.IsNull) return metric;
        var record = data.AsRecord() ?? throw new OtlpShapeException(dp, $"expected a record, found {Kind(data)}");
        if (record.Count != 1) throw new OtlpShapeException(dp, $"expected one of gauge, sum, histogram, exponential_histogram, summary, found {record.Count} keys");
        var (kind, body) = (record.KeyAt(0), record.ValueAt(0));
        var kp = $"{dp}.{kind}";
        if (body.AsRecord() is null) throw new OtlpShapeException(kp, $"expected a record, found {Kind(body)}");
        switch (kind)
        {
            case "gauge" or "double-gauge" or "int-gauge":
                metric.Gauge = new Gauge();
                NumberPoints(body, kp, metric.Gauge.DataPoints);
                break;
            case "sum" or "double-sum" or "int-sum":
                metric.Sum = new Sum
                {
                    AggregationTemporality = Temporality(body, kp),
                    IsMonotonic = Bool(body, "is_monotonic", kp),
                };
                NumberPoints(body, kp, metric.Sum.DataPoints);
                break;
            case "histogram" or "double-histogram" or "int-histogram":
                metric.Histogram = new Histogram { AggregationTemporality = Temporality(body, kp) };
                foreach (var (p, pp) in Items(body["data_points"], $"{kp}.data_points")) metric.Histogram.DataPoints.Add(HistogramPoint(p, pp));
                break;
            case "exponential_histogram":
                metric.ExponentialHistogram = new ExponentialHistogram { AggregationTemporality = Temporality(body, kp) };
                foreach (var (p, pp) in Items(body["data_points"], $"{kp}.data_points")) metric.ExponentialHistogram.DataPoints.Add(ExponentialPoint(p, pp));
                break;
            case "summary" or "double-summary":
                metric.Summary = new Summary();
                foreach (var (p, pp) in Items(body["data_points"], $"{kp}.data_points")) metric.Summary.DataPoints.Add(SummaryPoint(p, pp));
                break;
            default:
                throw new OtlpShapeException(kp, "unknown metric kind; expected gauge, sum, histogram, exponential_histogram or summary");
        }
        return metric;
    }

    private static AggregationTemporality Temporality(Value body, string path)
    {
        var t = Int(body, "aggregation_temporality", path);
        if (t is < 0 or > 2) throw new OtlpShapeException($"{path}.aggregation_temporality", $"must be 0, 1 (delta) or 2 (cumulative), found {t}");
        return (AggregationTemporality)t;
    }

    private static void NumberPoints(Value body, string path, RepeatedField<NumberDataPoint> into)
    {
        foreach (var (p, pp) in Items(body["data_points"], $"{path}.data_points"))
        {
            var point = new NumberDataPoint
            {
                StartTimeUnixNano = U64(p, "start_time_unix_nano", pp),
                TimeUnixNano = U64(p, "time_unix_nano", pp),
                Flags = U32(p, "flags", pp),
            };
            PointAttributes(p, pp, point.Attributes);
            var v = p["value"];
            if (v.Kind is ValueKind.I64) point.AsInt = v.RawI64;
            else if (v.Kind is ValueKind.U64) point.AsInt = unchecked((long)(ulong)v.RawI64);
            else if (v.Kind is ValueKind.F64) point.AsDouble = v.RawF64;
            else if (!v.IsNull) throw new OtlpShapeException($"{pp}.value", $"expected a number, found {Kind(v)}");
            Exemplars(p["exemplars"], $"{pp}.exemplars", point.Exemplars);
            into.Add(point);
        }
    }

    private static HistogramDataPoint HistogramPoint(Value p, string path)
    {
        var point = new HistogramDataPoint
        {
            StartTimeUnixNano = U64(p, "start_time_unix_nano", path),
            TimeUnixNano = U64(p, "time_unix_nano", path),
            Count = U64(p, "count", path),
            Flags = U32(p, "flags", path),
        };
        PointAttributes(p, path, point.Attributes);
        if (OptionalF64(p, "sum", path) is { } sum) point.Sum = sum;
        if (OptionalF64(p, "min", path) is { } min) point.Min = min;
        if (OptionalF64(p, "max", path) is { } max) point.Max = max;
        foreach (var (c, cp) in Items(p["bucket_counts"], $"{path}.bucket_counts", records: false)) point.BucketCounts.Add(U64Of(c, cp));
        foreach (var (b, bp) in Items(p["explicit_bounds"], $"{path}.explicit_bounds", records: false)) point.ExplicitBounds.Add(F64Of(b, bp));
        Exemplars(p["exemplars"], $"{path}.exemplars", point.Exemplars);
        return point;
    }

    private static ExponentialHistogramDataPoint ExponentialPoint(Value p, string path)
    {
        var point = new ExponentialHistogramDataPoint
        {
            StartTimeUnixNano = U64(p, "start_time_unix_nano", path),
            TimeUnixNano = U64(p, "time_unix_nano", path),
            Count = U64(p, "count", path),
            Scale = (int)Int(p, "scale", path),
            ZeroCount = U64(p, "zero_count", path),
            ZeroThreshold = OptionalF64(p, "zero_threshold", path) ?? 0,
            Flags = U32(p, "flags", path),
        };
        PointAttributes(p, path, point.Attributes);
        if (OptionalF64(p, "sum", path) is { } sum) point.Sum = sum;
        if (OptionalF64(p, "min", path) is { } min) point.Min = min;
        if (OptionalF64(p, "max", path) is { } max) point.Max = max;
        point.Positive = Buckets(p["positive"], $"{path}.positive");
        point.Negative = Buckets(p["negative"], $"{path}.negative");
        Exemplars(p["exemplars"], $"{path}.exemplars", point.Exemplars);
        return point;
    }

    private static ExponentialHistogramDataPoint.Types.Buckets? Buckets(Value b, string path)
    {
        if (b.IsNull) return null;
        if (b.AsRecord() is null) throw new OtlpShapeException(path, $"expected a record, found {Kind(b)}");
        var buckets = new ExponentialHistogramDataPoint.Types.Buckets { Offset = (int)Int(b, "offset", path) };
        foreach (var (c, cp) in Items(b["bucket_counts"], $"{path}.bucket_counts", records: false)) buckets.BucketCounts.Add(U64Of(c, cp));
        return buckets;
    }

    private static SummaryDataPoint SummaryPoint(Value p, string path)
    {
        var point = new SummaryDataPoint
        {
            StartTimeUnixNano = U64(p, "start_time_unix_nano", path),
            TimeUnixNano = U64(p, "time_unix_nano", path),
            Count = U64(p, "count", path),
            Sum = OptionalF64(p, "sum", path) ?? 0,
            Flags = U32(p, "flags", path),
        };
        PointAttributes(p, path, point.Attributes);
        foreach (var (q, qp) in Items(p["quantile_values"], $"{path}.quantile_values"))
        {
            point.QuantileValues.Add(new SummaryDataPoint.Types.ValueAtQuantile
            {
                Quantile = OptionalF64(q, "quantile", qp) ?? 0,
                Value = OptionalF64(q, "value", qp) ?? 0,
            });
        }
        return point;
    }

    private static void Exemplars(Value exemplars, string path, RepeatedField<Exemplar> into)
    {
        foreach (var (e, ep) in Items(exemplars, path))
        {
            var exemplar = new Exemplar
            {
                TimeUnixNano = U64(e, "time_unix_nano", ep),
                SpanId = Id(e, "span_id", ep, 8),
                TraceId = Id(e, "trace_id", ep, 16),
            };
            var attributes = e["filtered_attributes"].IsNull ? e["filtered_labels"] : e["filtered_attributes"];
            Attributes(attributes, $"{ep}.filtered_attributes", exemplar.FilteredAttributes);
            var v = e["value"];
            if (v.Kind is ValueKind.I64) exemplar.AsInt = v.RawI64;
            else if (v.Kind is ValueKind.F64) exemplar.AsDouble = v.RawF64;
            else if (!v.IsNull) throw new OtlpShapeException($"{ep}.value", $"expected a number, found {Kind(v)}");
            into.Add(exemplar);
        }
    }

    /// <summary>A data point's <c>attributes</c>; Tremor's older events call them <c>labels</c> (both are read).</summary>
    private static void PointAttributes(Value p, string path, RepeatedField<KeyValue> into)
    {
        Attributes(p["attributes"], $"{path}.attributes", into);
        Attributes(p["labels"], $"{path}.labels", into);
    }

    private static Span Span(Value s, string path)
    {
        var kind = Int(s, "kind", path);
        if (kind is < 0 or > 5) throw new OtlpShapeException($"{path}.kind", $"must be between 0 and 5, found {kind}");
        var span = new Span
        {
            TraceId = Id(s, "trace_id", path, 16),
            SpanId = Id(s, "span_id", path, 8),
            ParentSpanId = Id(s, "parent_span_id", path, 8),
            TraceState = Str(s, "trace_state", path),
            Flags = U32(s, "flags", path),
            Name = Str(s, "name", path),
            Kind = (Span.Types.SpanKind)kind,
            StartTimeUnixNano = U64(s, "start_time_unix_nano", path),
            EndTimeUnixNano = U64(s, "end_time_unix_nano", path),
            DroppedAttributesCount = U32(s, "dropped_attributes_count", path),
            DroppedEventsCount = U32(s, "dropped_events_count", path),
            DroppedLinksCount = U32(s, "dropped_links_count", path),
        };
        Attributes(s["attributes"], $"{path}.attributes", span.Attributes);
        foreach (var (e, ep) in Items(s["events"], $"{path}.events"))
        {
            var ev = new Span.Types.Event { TimeUnixNano = U64(e, "time_unix_nano", ep), Name = Str(e, "name", ep), DroppedAttributesCount = U32(e, "dropped_attributes_count", ep) };
            Attributes(e["attributes"], $"{ep}.attributes", ev.Attributes);
            span.Events.Add(ev);
        }
        foreach (var (l, lp) in Items(s["links"], $"{path}.links"))
        {
            var link = new Span.Types.Link
            {
                TraceId = Id(l, "trace_id", lp, 16),
                SpanId = Id(l, "span_id", lp, 8),
                TraceState = Str(l, "trace_state", lp),
                DroppedAttributesCount = U32(l, "dropped_attributes_count", lp),
                Flags = U32(l, "flags", lp),
            };
            Attributes(l["attributes"], $"{lp}.attributes", link.Attributes);
            span.Links.Add(link);
        }
        var status = s["status"];
        if (!status.IsNull)
        {
            if (status.AsRecord() is null) throw new OtlpShapeException($"{path}.status", $"expected a record, found {Kind(status)}");
            var code = Int(status, "code", $"{path}.status");
            if (code is < 0 or > 2) throw new OtlpShapeException($"{path}.status.code", $"must be 0 (unset), 1 (ok) or 2 (error), found {code}");
            span.Status = new Status { Code = (Status.Types.StatusCode)code, Message = Str(status, "message", $"{path}.status") };
        }
        return span;
    }

    private static OtelResource? Resource(Value r, string path)
    {
        if (r.IsNull) return null;
        if (r.AsRecord() is null) throw new OtlpShapeException(path, $"expected a record, found {Kind(r)}");
        var resource = new OtelResource { DroppedAttributesCount = U32(r, "dropped_attributes_count", path) };
        Attributes(r["attributes"], $"{path}.attributes", resource.Attributes);
        return resource;
    }

    private static InstrumentationScope? Scope(Value owner, string path)
    {
        var s = owner["scope"];
        var key = "scope";
        if (s.IsNull)
        {
            s = owner["instrumentation_library"];
            key = "instrumentation_library";
        }
        if (s.IsNull) return null;
        var sp = $"{path}.{key}";
        if (s.AsRecord() is null) throw new OtlpShapeException(sp, $"expected a record, found {Kind(s)}");
        var scope = new InstrumentationScope { Name = Str(s, "name", sp), Version = Str(s, "version", sp), DroppedAttributesCount = U32(s, "dropped_attributes_count", sp) };
        Attributes(s["attributes"], $"{sp}.attributes", scope.Attributes);
        return scope;
    }

    private static void Attributes(Value attributes, string path, RepeatedField<KeyValue> into)
    {
        if (attributes.IsNull) return;
        var record = attributes.AsRecord() ?? throw new OtlpShapeException(path, $"expected a record of attributes, found {Kind(attributes)}");
        foreach (var (key, value) in record) into.Add(new KeyValue { Key = key, Value = Any(value) });
    }

    /// <summary>A value as an OTLP AnyValue: records become key-value lists, null an empty AnyValue.</summary>
    public static AnyValue Any(Value v)
    {
        switch (v.Kind)
        {
            case ValueKind.Null: return new AnyValue();
            case ValueKind.Bool: return new AnyValue { BoolValue = v.AsBool() };
            case ValueKind.I64: return new AnyValue { IntValue = v.RawI64 };
            // Above i64: OTLP has no unsigned integer; the bits are kept, as Tremor does.
            case ValueKind.U64: return new AnyValue { IntValue = v.RawI64 };
            case ValueKind.F64: return new AnyValue { DoubleValue = v.RawF64 };
            case ValueKind.String: return new AnyValue { StringValue = v.AsString() };
            case ValueKind.Bytes: return new AnyValue { BytesValue = ByteString.CopyFrom(v.AsBytes()) };
            case ValueKind.Array:
                {
                    var array = new ArrayValue();
                    foreach (var item in v.AsArray()!) array.Values.Add(Any(item));
                    return new AnyValue { ArrayValue = array };
                }
            default:
                {
                    var list = new KeyValueList();
                    foreach (var (key, value) in v.AsRecord()!) list.Values.Add(new KeyValue { Key = key, Value = Any(value) });
                    return new AnyValue { KvlistValue = list };
                }
        }
    }

    /// <summary>The items of a list (records unless told otherwise), each with its path; null is an empty list.</summary>
    private static IEnumerable<(Value Item, string Path)> Items(Value list, string path, bool records = true)
    {
        if (list.IsNull) yield break;
        var array = list.AsArray() ?? throw new OtlpShapeException(path, $"expected a list, found {Kind(list)}");
        for (var i = 0; i < array.Count; i++)
        {
            var item = array[i];
            if (records && item.Kind is not ValueKind.Record)
            {
                throw new OtlpShapeException($"{path}[{i}]", $"expected a record, found {Kind(item)}");
            }
            yield return (item, $"{path}[{i}]");
        }
    }

    private static Value Either(Value owner, string key, string legacy, string path, out string used)
    {
        used = key;
        var v = owner[key];
        if (!v.IsNull) return v;
        used = legacy;
        return owner[legacy];
    }

    private static string Str(Value owner, string key, string path)
    {
        var v = owner[key];
        if (v.IsNull) return string.Empty;
        return v.AsString() ?? throw new OtlpShapeException($"{path}.{key}", $"expected a string, found {Kind(v)}");
    }

    private static bool Bool(Value owner, string key, string path)
    {
        var v = owner[key];
        if (v.IsNull) return false;
        return v.TryGetBool(out var b) ? b : throw new OtlpShapeException($"{path}.{key}", $"expected true or false, found {Kind(v)}");
    }

    private static long Int(Value owner, string key, string path)
    {
        var v = owner[key];
        if (v.IsNull) return 0;
        return v.TryGetI64(out var i) ? i : throw new OtlpShapeException($"{path}.{key}", $"expected an integer, found {Kind(v)}");
    }

    private static ulong U64(Value owner, string key, string path) => owner[key].IsNull ? 0 : U64Of(owner[key], $"{path}.{key}");

    private static ulong U64Of(Value v, string path) =>
        v.Kind is ValueKind.I64 or ValueKind.U64 && v.TryGetU64(out var u) ? u : throw new OtlpShapeException(path, $"expected a non-negative integer, found {Kind(v)}");

    private static uint U32(Value owner, string key, string path)
    {
        var v = U64(owner, key, path);
        return v <= uint.MaxValue ? (uint)v : throw new OtlpShapeException($"{path}.{key}", $"must fit 32 bits, found {v}");
    }

    private static double? OptionalF64(Value owner, string key, string path)
    {
        var v = owner[key];
        if (v.IsNull) return null;
        return F64Of(v, $"{path}.{key}");
    }

    private static double F64Of(Value v, string path) =>
        v.TryGetF64(out var d) ? d : throw new OtlpShapeException(path, $"expected a number, found {Kind(v)}");

    /// <summary>A trace or span id: hex text (as the events carry them), bytes, or a list of byte values; "" is no id.</summary>
    private static ByteString Id(Value owner, string key, string path, int length)
    {
        var v = owner[key];
        byte[] bytes;
        switch (v.Kind)
        {
            case ValueKind.Null: return ByteString.Empty;
            case ValueKind.String:
                var text = v.AsString()!;
                if (text.Length == 0) return ByteString.Empty;
                try
                {
                    bytes = Convert.FromHexString(text);
                }
                catch (FormatException)
                {
                    throw new OtlpShapeException($"{path}.{key}", $"expected {length * 2} hex digits, found '{text}'");
                }
                break;
            case ValueKind.Bytes:
                bytes = v.AsBytes()!;
                break;
            case ValueKind.Array:
                var array = v.AsArray()!;
                bytes = new byte[array.Count];
                for (var i = 0; i < array.Count; i++)
                {
                    if (!array[i].TryGetI64(out var b) || b is < 0 or > 255) throw new OtlpShapeException($"{path}.{key}[{i}]", $"expected a byte (0-255), found {array[i]}");
                    bytes[i] = (byte)b;
                }
                break;
            default:
                throw new OtlpShapeException($"{path}.{key}", $"expected an id as hex text, found {Kind(v)}");
        }
        if (bytes.Length != length) throw new OtlpShapeException($"{path}.{key}", $"expected a {length}-byte id, found {bytes.Length} bytes");
        return ByteString.CopyFrom(bytes);
    }

    internal static string Kind(Value v) => v.Kind switch
    {
        ValueKind.Null => "null",
        ValueKind.Bool => $"a bool ({v})",
        ValueKind.I64 or ValueKind.U64 => $"an integer ({v})",
        ValueKind.F64 => $"a float ({v.RawF64.ToString(CultureInfo.InvariantCulture)})",
        ValueKind.String => $"a string ('{v.AsString()}')",
        ValueKind.Bytes => "bytes",
        ValueKind.Array => "a list",
        _ => "a record",
    };
}
