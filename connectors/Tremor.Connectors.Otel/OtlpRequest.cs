using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Google.Protobuf;
using Tremor.Connectors.Otel.Proto.Collector.Logs;
using Tremor.Connectors.Otel.Proto.Collector.Metrics;
using Tremor.Connectors.Otel.Proto.Collector.Trace;
using Tremor.Pdk;

namespace Tremor.Connectors.Otel;

/// <summary>The three OTLP signals.</summary>
internal enum Signal
{
    Logs,
    Metrics,
    Trace,
}

/// <summary>How a request reached otel_server; also what its answer is encoded as.</summary>
internal enum Transport
{
    Grpc,
    HttpProtobuf,
    HttpJson,
}

/// <summary>gRPC status codes the server answers with (the numbers of grpc's status.proto).</summary>
internal enum GrpcStatus
{
    Ok = 0,
    InvalidArgument = 3,
    ResourceExhausted = 8,
    Unimplemented = 12,
    Internal = 13,
    Unavailable = 14,
}

/// <summary>A request the server refuses, with the status to answer and the reason for the client.</summary>
internal sealed class OtlpRequestException(GrpcStatus status, int httpStatus, string message) : Exception(message)
{
    public GrpcStatus Status { get; } = status;
    public int HttpStatus { get; } = httpStatus;

    public static OtlpRequestException Invalid(string message) => new(GrpcStatus.InvalidArgument, 400, message);
}

/// <summary>
/// Decoding and encoding of OTLP export requests for both transports: gRPC's length-prefixed framing (one message per
/// unary call, gzip when <c>grpc-encoding</c> says so) and OTLP/HTTP bodies (protobuf or JSON, gzip when
/// <c>content-encoding</c> says so).
/// </summary>
internal static class OtlpRequest
{
    public const string LogsPath = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
    public const string MetricsPath = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
    public const string TracePath = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

    public static Signal? GrpcSignal(string path) => path switch
    {
        LogsPath => Signal.Logs,
        MetricsPath => Signal.Metrics,
        TracePath => Signal.Trace,
        _ => null,
    };

    public static Signal? HttpSignal(string path) => path switch
    {
        "/v1/logs" => Signal.Logs,
        "/v1/metrics" => Signal.Metrics,
        "/v1/traces" => Signal.Trace,
        _ => null,
    };

    /// <summary>The one message of a unary gRPC call: 5-byte prefix (compressed flag, big-endian length), then the bytes.</summary>
    public static byte[] UnframeGrpc(byte[] body, string? encoding, long maxSize)
    {
        if (body.Length < 5) throw OtlpRequestException.Invalid($"the gRPC message is truncated: {body.Length} byte(s), a frame needs at least 5");
        var compressed = body[0];
        var length = BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(1, 4));
        if (compressed > 1) throw OtlpRequestException.Invalid($"the gRPC frame's compressed flag is {compressed}, expected 0 or 1");
        if (length != body.Length - 5)
        {
            throw OtlpRequestException.Invalid($"the gRPC frame says {length} byte(s) but {body.Length - 5} follow (one message per Export call)");
        }
        var message = body.AsSpan(5).ToArray();
        if (compressed == 0) return message;
        if (!string.Equals(encoding, "gzip", StringComparison.OrdinalIgnoreCase))
        {
            throw new OtlpRequestException(GrpcStatus.Unimplemented, 415, $"the message is compressed with '{encoding}'; this server reads gzip or identity");
        }
        return Gunzip(message, maxSize);
    }

    public static byte[] FrameGrpc(IMessage message)
    {
        var bytes = message.ToByteArray();
        var framed = new byte[bytes.Length + 5];
        BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1, 4), (uint)bytes.Length);
        bytes.CopyTo(framed, 5);
        return framed;
    }

    public static byte[] Gunzip(byte[] data, long maxSize)
    {
        try
        {
            using var input = new GZipStream(new MemoryStream(data), CompressionMode.Decompress);
            using var output = new MemoryStream();
            var buffer = new byte[16 * 1024];
            int read;
            while ((read = input.Read(buffer)) > 0)
            {
                if (output.Length + read > maxSize) throw new OtlpRequestException(GrpcStatus.ResourceExhausted, 413, $"the decompressed body is larger than {maxSize} bytes (max-body-size)");
                output.Write(buffer, 0, read);
            }
            return output.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw OtlpRequestException.Invalid($"the gzip body cannot be decompressed: {e.Message}");
        }
    }

    /// <summary>The request's message as a Tremor event, or the reason it is not an OTLP export request.</summary>
    public static Value Decode(Signal signal, Transport transport, byte[] message)
    {
        try
        {
            return signal switch
            {
                Signal.Logs => OtlpToValue.Logs(Parse<ExportLogsServiceRequest>(transport, message)),
                Signal.Metrics => OtlpToValue.Metrics(Parse<ExportMetricsServiceRequest>(transport, message)),
                _ => OtlpToValue.Trace(Parse<ExportTraceServiceRequest>(transport, message)),
            };
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or FormatException or InvalidOperationException)
        {
            var what = transport == Transport.HttpJson ? "OTLP/JSON" : "protobuf";
            throw OtlpRequestException.Invalid($"the body is not a valid {what} Export{SignalName(signal)}ServiceRequest: {e.Message}");
        }
    }

    private static T Parse<T>(Transport transport, byte[] message)
        where T : IMessage<T>, new()
    {
        if (transport == Transport.HttpJson) return OtlpJson.Parse<T>(message);
        var parser = new MessageParser<T>(() => new T());
        return parser.ParseFrom(message);
    }

    public static string SignalName(Signal signal) => signal switch
    {
        Signal.Logs => "Logs",
        Signal.Metrics => "Metrics",
        _ => "Trace",
    };

    /// <summary>An empty ExportXServiceResponse: full success.</summary>
    public static IMessage Success(Signal signal) => signal switch
    {
        Signal.Logs => new ExportLogsServiceResponse(),
        Signal.Metrics => new ExportMetricsServiceResponse(),
        _ => new ExportTraceServiceResponse(),
    };

    /// <summary>google.rpc.Status {code = 1, message = 2}: the body OTLP/HTTP answers an error with (protobuf or JSON).</summary>
    public static byte[] StatusBody(GrpcStatus code, string message, bool json)
    {
        if (json)
        {
            var node = new System.Text.Json.Nodes.JsonObject { ["code"] = (int)code, ["message"] = message };
            return Encoding.UTF8.GetBytes(node.ToJsonString());
        }
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        output.WriteTag(1, WireFormat.WireType.Varint);
        output.WriteInt32((int)code);
        output.WriteTag(2, WireFormat.WireType.LengthDelimited);
        output.WriteString(message);
        output.Flush();
        return stream.ToArray();
    }

    /// <summary>grpc-message is percent-encoded: bytes outside printable ASCII, and '%'.</summary>
    public static string PercentEncode(string message)
    {
        var sb = new StringBuilder(message.Length);
        foreach (var b in Encoding.UTF8.GetBytes(message))
        {
            if (b is >= 0x20 and <= 0x7E && b != (byte)'%') sb.Append((char)b);
            else sb.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }
}
