using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Tremor.Connectors.Otel.Proto.Collector.Logs;
using Tremor.Pdk;
using static Tremor.Connectors.Testing.Fixtures;

namespace Tremor.Connectors.Otel.Tests;

/// <summary>What otel_server and otel_client do with input they cannot use: one clear answer, and they keep going.</summary>
public sealed class OtelBadInputTests
{
    private static readonly byte[] Garbage = [0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01];

    private static ByteArrayContent Body(byte[] bytes, string type)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(type);
        return content;
    }

    /// <summary>The message of a google.rpc.Status body (field 2), as an OTLP/HTTP server answers errors.</summary>
    private static string StatusMessage(byte[] body)
    {
        var input = new CodedInputStream(body);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == 2) return input.ReadString();
            input.SkipLastField();
        }
        return "";
    }

    private static ByteString ValidLogs() => new ExportLogsServiceRequest
    {
        ResourceLogs = { new Proto.Logs.ResourceLogs { ScopeLogs = { new Proto.Logs.ScopeLogs { LogRecords = { new Proto.Logs.LogRecord { SeverityText = "after" } } } } } },
    }.ToByteString();

    [Fact]
    public async Task A_malformed_protobuf_body_is_answered_400_with_the_reason_and_the_server_keeps_serving()
    {
        var host = new TestHost();
        await using var server = new ServerRunner(host);
        await server.StartAsync();
        using var http = new HttpClient();

        using var bad = await http.PostAsync(new Uri(server.HttpUrl, "v1/logs"), Body(Garbage, "application/x-protobuf"));

        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var reason = StatusMessage(await bad.Content.ReadAsByteArrayAsync());
        Assert.Contains("not a valid protobuf ExportLogsServiceRequest", reason);
        Assert.Empty(server.Events);
        Assert.True(host.Logged("refused"));

        using var good = await http.PostAsync(new Uri(server.HttpUrl, "v1/logs"), Body(ValidLogs().ToByteArray(), "application/x-protobuf"));
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
        var data = await server.WaitForAsync("logs", _ => true, "the valid request's event");
        Assert.Equal("after", data["logs"][0]["scope_logs"][0]["logs"][0]["severity_text"].AsString());
    }

    [Fact]
    public async Task Malformed_OTLP_JSON_is_answered_400_naming_what_is_wrong()
    {
        await using var server = new ServerRunner(new TestHost());
        await server.StartAsync();
        using var http = new HttpClient();

        using var bad = await http.PostAsync(new Uri(server.HttpUrl, "v1/traces"),
            Body("""{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"not-hex"}]}]}]}"""u8.ToArray(), "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var answer = System.Text.Json.Nodes.JsonNode.Parse(await bad.Content.ReadAsStringAsync())!;
        Assert.Equal(3, answer["code"]!.GetValue<int>());
        Assert.Contains("traceId 'not-hex' is not hex", answer["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_malformed_grpc_message_is_InvalidArgument_with_the_reason_and_the_server_keeps_serving()
    {
        await using var server = new ServerRunner(new TestHost());
        await server.StartAsync();
        using var channel = GrpcChannel.ForAddress(server.GrpcUrl);
        var raw = Marshallers.Create<byte[]>(b => b, b => b);
        var export = new Method<byte[], byte[]>(MethodType.Unary, "opentelemetry.proto.collector.logs.v1.LogsService", "Export", raw, raw);

        var error = await Assert.ThrowsAsync<RpcException>(() => channel.CreateCallInvoker().AsyncUnaryCall(export, null, default, Garbage).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("not a valid protobuf ExportLogsServiceRequest", error.Status.Detail);
        var response = await new LogsService.LogsServiceClient(channel).ExportAsync(ExportLogsServiceRequest.Parser.ParseFrom(ValidLogs()));
        Assert.NotNull(response);
        await server.WaitForAsync("logs", _ => true, "the valid request's event");
    }

    [Fact]
    public async Task An_export_whose_event_fails_downstream_is_answered_503_so_the_exporter_retries()
    {
        await using var server = new ServerRunner(new TestHost()) { Settle = Settle.Fail };
        await server.StartAsync();
        using var http = new HttpClient();

        using var answer = await http.PostAsync(new Uri(server.HttpUrl, "v1/logs"), Body(ValidLogs().ToByteArray(), "application/x-protobuf"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.StatusCode);
        Assert.Contains("failed in the flow", StatusMessage(await answer.Content.ReadAsByteArrayAsync()));
        Assert.Single(server.Events);
    }

    [Fact]
    public async Task An_export_nobody_settles_is_answered_503_after_the_response_timeout()
    {
        await using var server = new ServerRunner(new TestHost(), ("response-timeout", "300ms")) { Settle = Settle.Nothing };
        await server.StartAsync();
        using var http = new HttpClient();

        using var answer = await http.PostAsync(new Uri(server.HttpUrl, "v1/logs"), Body(ValidLogs().ToByteArray(), "application/x-protobuf"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.StatusCode);
        Assert.Contains("within 300ms (response-timeout)", StatusMessage(await answer.Content.ReadAsByteArrayAsync()));
        Assert.True(server.Connector.IsTransactional);
    }

    [Fact]
    public async Task With_reply_received_an_export_is_answered_once_queued_and_its_event_needs_no_ack()
    {
        await using var server = new ServerRunner(new TestHost(), ("reply", "received"), ("response-timeout", "1h")) { Settle = Settle.Nothing };
        await server.StartAsync();
        using var http = new HttpClient();

        using var answer = await http.PostAsync(new Uri(server.HttpUrl, "v1/logs"), Body(ValidLogs().ToByteArray(), "application/x-protobuf"));

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.False(server.Connector.IsTransactional);
        await server.WaitForAsync("logs", _ => true, "the event");
    }

    [Fact]
    public async Task With_reply_received_a_drain_hands_over_what_was_answered_and_refuses_what_comes_after()
    {
        var host = new TestHost();
        await using var server = (OtelServerConnector)new OtelServerFactory().Create(Context(host, ("url", "off"), ("http-url", "127.0.0.1:0"), ("reply", "received")));
        Assert.True(await server.ConnectAsync(1, CancellationToken.None));
        using var http = new HttpClient();
        var url = new Uri(server.HttpUrl!, "v1/logs");

        using var before = await http.PostAsync(url, Body(ValidLogs().ToByteArray(), "application/x-protobuf"));
        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        await server.OnDrainAsync(CancellationToken.None);
        using var after = await http.PostAsync(url, Body(ValidLogs().ToByteArray(), "application/x-protobuf"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, after.StatusCode);
        Assert.True(server.PullsWhileDraining);
        var batch = new SourceBatch(8);
        Assert.Equal(PullStatus.Data, await server.PullAsync(batch, CancellationToken.None));
        Assert.Equal(1, batch.Count);
        batch.Clear();
        // Nothing more can come: the pull says so at once instead of waiting for input.
        Assert.Equal(PullStatus.Empty, await server.PullAsync(batch, CancellationToken.None));
        Assert.Equal(0, batch.Count);
        await server.OnStopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_signal_that_is_turned_off_is_refused_and_not_emitted()
    {
        await using var server = new ServerRunner(new TestHost(), ("logs", false));
        await server.StartAsync();
        using var http = new HttpClient();

        using var answer = await http.PostAsync(new Uri(server.HttpUrl, "v1/logs"), Body(ValidLogs().ToByteArray(), "application/x-protobuf"));

        Assert.Equal(HttpStatusCode.NotFound, answer.StatusCode);
        Assert.Contains("logs are turned off", StatusMessage(await answer.Content.ReadAsByteArrayAsync()));
        Assert.Empty(server.Events);
    }

    [Fact]
    public async Task Grpc_sent_to_the_http_port_is_refused_naming_the_port_to_use()
    {
        await using var server = new ServerRunner(new TestHost());
        await server.StartAsync();
        using var http = new HttpClient();

        using var answer = await http.PostAsync(new Uri(server.HttpUrl, OtlpRequest.LogsPath.TrimStart('/')), Body(OtlpRequest.FrameGrpc(ExportLogsServiceRequest.Parser.ParseFrom(ValidLogs())), "application/grpc"));

        Assert.Equal("3", answer.Headers.GetValues("grpc-status").Single());
        Assert.Contains("gRPC needs HTTP/2", Uri.UnescapeDataString(answer.Headers.GetValues("grpc-message").Single()));
        Assert.Empty(server.Events);
    }

    [Theory]
    [InlineData("grpc")]
    [InlineData("http/protobuf")]
    public async Task An_unreachable_server_fails_the_batch_and_reports_the_lost_connection(string protocol)
    {
        int port;
        using (var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        var host = new TestHost();
        await using var client = new OtelClientFactory().Create(Context(host, ("url", $"http://127.0.0.1:{port}"), ("protocol", protocol), ("timeout", "5s")));

        Assert.False(await client.ConnectAsync(1, CancellationToken.None));
        var reply = await client.Sink!.OnBatchAsync(Structured(OtelRoundTripTests.Logs()), CancellationToken.None);

        Assert.Equal(SinkStatus.Fail, reply.Status);
        Assert.Contains($"127.0.0.1:{port}", reply.Error);
        Assert.Single(host.ConnectionsLost);
        Assert.Contains(host.Logs, l => l.Level == PluginLogLevel.Warning && l.Message.Contains("attempt 1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_event_that_is_not_OTLP_fails_naming_the_field_and_the_others_are_delivered()
    {
        await using var server = new ServerRunner(new TestHost());
        await server.StartAsync();
        var host = new TestHost();
        await using var client = new OtelClientFactory().Create(Context(host, ("url", server.GrpcUrl.ToString())));
        var bad = Record(("logs", List(Record(("scope_logs", List(Record(("logs", List(Record(("severity_number", "loud")))))))))));

        var reply = await client.Sink!.OnBatchAsync(Structured(OtelRoundTripTests.Logs(), bad, Record(("hello", 1))), CancellationToken.None);

        Assert.Equal(SinkStatus.Pending, reply.Status);
        Assert.Single(host.Acked);
        Assert.Equal(2, host.Failed.Count);
        Assert.Contains(host.Failed, f => f.Reason.Contains("event.logs[0].scope_logs[0].logs[0].severity_number: expected an integer, found a string ('loud')", StringComparison.Ordinal));
        Assert.Contains(host.Failed, f => f.Reason.Contains("none of the keys logs, metrics, trace", StringComparison.Ordinal));
        await server.WaitForAsync("logs", _ => true, "the good event");
        Assert.Empty(host.ConnectionsLost);
    }
}
