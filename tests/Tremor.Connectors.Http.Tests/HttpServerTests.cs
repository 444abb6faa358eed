using System.Net;
using System.Text;
using Tremor.Pdk;
using static Tremor.Connectors.Testing.Fixtures;

namespace Tremor.Connectors.Http.Tests;

public sealed class HttpServerTests
{
    private static async Task<HttpServerConnector> StartAsync(TestHost host, params (string Key, Value Value)[] config)
    {
        var all = config.Any(c => c.Key == "url") ? config : [("url", "http://127.0.0.1:0"), .. config];
        var connector = (HttpServerConnector)new HttpServerFactory().Create(Context(host, all));
        Assert.True(await connector.ConnectAsync(1, CancellationToken.None));
        return connector;
    }

    private static Value Reply(Value meta, int? status = null, Value headers = default)
    {
        var response = new List<(string, Value)>();
        if (status is { } s) response.Add(("status", s));
        if (!headers.IsNull) response.Add(("headers", headers));
        return Record(("http_server", Record(("request_id", meta["http_server"]["request_id"]), ("response", Record([.. response])))));
    }

    [Fact]
    public async Task A_request_becomes_an_event_with_its_meta_and_the_sink_event_naming_it_is_the_response()
    {
        var host = new TestHost();
        await using var server = await StartAsync(host);
        using var client = new HttpClient { BaseAddress = server.BoundUrl };

        using var content = new StringContent("""{"a":1}""", Encoding.UTF8, "application/json");
        using var message = new HttpRequestMessage(HttpMethod.Post, "/things/1?x=1&y=2") { Content = content };
        message.Headers.Add("X-Test", "hello");
        var responseTask = client.SendAsync(message);

        var chunks = await PullDataAsync(server);
        var chunk = Assert.Single(chunks, c => !c.IsStreamEnd);
        Assert.Equal("""{"a":1}""", chunk.Text);
        // One stream per request, ended in the same pull.
        Assert.Contains(chunks, c => c.IsStreamEnd && c.StreamId == chunk.StreamId);
        var request = chunk.Meta["http_server"]["request"];
        Assert.Equal("POST", request["method"].AsString());
        Assert.Equal("/things/1", request["path"].AsString());
        Assert.Equal("x=1&y=2", request["query"].AsString());
        Assert.Equal("hello", request["headers"]["x-test"][0].AsString());
        Assert.Equal("application/json; charset=utf-8", request["headers"]["content-type"][0].AsString());
        Assert.Equal("127.0.0.1", request["peer"]["host"].AsString());
        Assert.True(chunk.Meta["http_server"]["request_id"].TryGetI64(out var requestId));
        Assert.Equal((ulong)requestId, chunk.StreamId);

        var reply = await server.OnBatchAsync(
            SinkBatch(("""{"ok":true}""", Reply(chunk.Meta, 201, Record(("x-reply", "yes"), ("content-type", "application/json"))))),
            CancellationToken.None);
        Assert.Equal(SinkStatus.Ack, reply.Status);

        using var response = await Within(responseTask);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("yes", Assert.Single(response.Headers.GetValues("x-reply")));
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("""{"ok":true}""", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Concurrent_requests_get_their_own_stream_and_their_own_response_with_status_200_by_default()
    {
        var host = new TestHost();
        await using var server = await StartAsync(host);
        using var client = new HttpClient { BaseAddress = server.BoundUrl };
        var first = client.GetAsync("/one");
        var second = client.GetAsync("/two");

        var chunks = new List<Chunk>();
        while (chunks.Count(c => !c.IsStreamEnd) < 2) chunks.AddRange(await PullDataAsync(server));
        var data = chunks.Where(c => !c.IsStreamEnd).ToList();
        Assert.NotEqual(data[0].StreamId, data[1].StreamId);
        // No body: the event is null, without a codec.
        Assert.All(data, c => Assert.True(c.IsStructured && c.Structured.IsNull));
        // Answer in reverse order: each response goes to the request its meta names.
        await server.OnBatchAsync(SinkBatch(
            (data[1].Meta["http_server"]["request"]["path"].AsString()!, Reply(data[1].Meta)),
            (data[0].Meta["http_server"]["request"]["path"].AsString()!, Reply(data[0].Meta))), CancellationToken.None);

        using var one = await Within(first);
        using var two = await Within(second);
        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
        Assert.Equal("/one", await one.Content.ReadAsStringAsync());
        Assert.Equal("/two", await two.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_request_nobody_answers_gets_503_after_the_response_timeout()
    {
        var host = new TestHost();
        await using var server = await StartAsync(host, ("response-timeout", "200ms"));
        using var client = new HttpClient { BaseAddress = server.BoundUrl };
        var responseTask = client.PostAsync("/", new StringContent("{}"));
        var chunk = (await PullDataAsync(server)).First(c => !c.IsStreamEnd);

        using var response = await Within(responseTask);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("no response from the flow within 200ms", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(1, server.TimedOutCount);

        // A late response finds nobody waiting: dropped, counted, logged, still acked.
        var late = await server.OnBatchAsync(SinkBatch(("{}", Reply(chunk.Meta))), CancellationToken.None);
        Assert.Equal(SinkStatus.Ack, late.Status);
        Assert.Equal(1, server.UnroutableCount);
    }

    [Fact]
    public async Task A_body_over_max_body_size_gets_413_is_counted_and_not_emitted()
    {
        var host = new TestHost();
        await using var server = await StartAsync(host, ("max-body-size", 10));
        using var client = new HttpClient { BaseAddress = server.BoundUrl };

        using var declared = await Within(client.PostAsync("/", new ByteArrayContent(new byte[100])));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, declared.StatusCode);
        // Its body was never read: the connection must not carry the next request.
        Assert.True(declared.Headers.ConnectionClose);
        // Chunked: no content-length up front, the limit is found while reading.
        using var chunked = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new StreamContent(new MemoryStream(new byte[100])) };
        chunked.Headers.TransferEncodingChunked = true;
        using var streamed = await Within(client.SendAsync(chunked));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, streamed.StatusCode);

        Assert.Equal(2, server.TooLargeCount);
        Assert.Equal(0, await PullNowAsync(server));
        Assert.Contains(host.Logs, l => l.Level == PluginLogLevel.Warning && l.Message.Contains("max-body-size", StringComparison.Ordinal));

        // At the limit is fine.
        var ok = client.PostAsync("/", new ByteArrayContent(new byte[10]));
        var chunk = (await PullDataAsync(server)).First(c => !c.IsStreamEnd);
        Assert.Equal(10, chunk.Data.Length);
        await server.OnBatchAsync(SinkBatch(("", Reply(chunk.Meta, 204))), CancellationToken.None);
        using var okResponse = await Within(ok);
        Assert.Equal(HttpStatusCode.NoContent, okResponse.StatusCode);
    }

    [Fact]
    public async Task Past_max_pending_requests_a_request_gets_503_at_once()
    {
        var host = new TestHost();
        await using var server = await StartAsync(host, ("max-pending-requests", 1));
        using var client = new HttpClient { BaseAddress = server.BoundUrl };
        var first = client.GetAsync("/first");
        var chunk = (await PullDataAsync(server)).First(c => !c.IsStreamEnd);

        using var second = await Within(client.GetAsync("/second"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, second.StatusCode);
        Assert.Contains("overloaded", await second.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(1, server.OverloadedCount);

        await server.OnBatchAsync(SinkBatch(("done", Reply(chunk.Meta))), CancellationToken.None);
        using var firstResponse = await Within(first);
        Assert.Equal("done", await firstResponse.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Reply_accepted_answers_202_at_once_and_still_emits_the_event()
    {
        var host = new TestHost();
        await using var server = await StartAsync(host, ("reply", "accepted"));
        using var client = new HttpClient { BaseAddress = server.BoundUrl };
        using var response = await Within(client.PutAsync("/x", new StringContent("[1,2]")));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var chunk = (await PullDataAsync(server)).First(c => !c.IsStreamEnd);
        Assert.Equal("[1,2]", chunk.Text);
        Assert.Equal("PUT", chunk.Meta["http_server"]["request"]["method"].AsString());
    }

    [Fact]
    public async Task Reply_ack_answers_200_only_once_the_event_is_acknowledged_and_500_when_it_failed()
    {
        var host = new TestHost();
        await using var server = await StartAsync(host, ("reply", "ack"));
        using var client = new HttpClient { BaseAddress = server.BoundUrl };

        var kept = client.PostAsync("/kept", new StringContent("1"));
        var chunk = (await PullDataAsync(server)).First(c => !c.IsStreamEnd);
        Assert.False(kept.IsCompleted); // no answer before the ack: nothing promised yet
        server.Ack(chunk.StreamId, 0);
        using var keptResponse = await Within(kept);
        Assert.Equal(HttpStatusCode.OK, keptResponse.StatusCode);

        var lost = client.PostAsync("/lost", new StringContent("2"));
        var failed = (await PullDataAsync(server)).First(c => !c.IsStreamEnd);
        server.Fail(failed.StreamId, 0);
        using var lostResponse = await Within(lost);
        Assert.Equal(HttpStatusCode.InternalServerError, lostResponse.StatusCode);
    }

    [Fact]
    public async Task A_failed_event_answers_500_and_an_invalid_response_meta_answers_500()
    {
        var host = new TestHost();
        await using var server = await StartAsync(host);
        using var client = new HttpClient { BaseAddress = server.BoundUrl };

        var failed = client.GetAsync("/fails");
        var chunk = (await PullDataAsync(server)).First(c => !c.IsStreamEnd);
        server.Fail(chunk.StreamId, 0);
        using var failedResponse = await Within(failed);
        Assert.Equal(HttpStatusCode.InternalServerError, failedResponse.StatusCode);

        var invalid = client.GetAsync("/invalid");
        chunk = (await PullDataAsync(server)).First(c => !c.IsStreamEnd);
        await server.OnBatchAsync(SinkBatch(("x", Reply(chunk.Meta, 42))), CancellationToken.None);
        using var invalidResponse = await Within(invalid);
        Assert.Equal(HttpStatusCode.InternalServerError, invalidResponse.StatusCode);
        Assert.Contains("status must be an integer from 100 to 599", await invalidResponse.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Drain_answers_queued_requests_503_and_refuses_new_ones_stop_answers_the_rest()
    {
        var host = new TestHost();
        await using var server = await StartAsync(host);
        using var client = new HttpClient { BaseAddress = server.BoundUrl };
        var inFlight = client.GetAsync("/in-flight");
        await PullDataAsync(server);

        await server.OnDrainAsync(CancellationToken.None);
        using var refused = await Within(client.GetAsync("/late"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Contains("shutting down", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        await server.OnStopAsync(CancellationToken.None);
        using var inFlightResponse = await Within(inFlight);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, inFlightResponse.StatusCode);
    }

    [Fact]
    public async Task Pull_returns_promptly_when_cancelled()
    {
        var host = new TestHost();
        await using var server = await StartAsync(host);
        using var cancel = new CancellationTokenSource();
        var pull = server.PullAsync(new SourceBatch(4), cancel.Token).AsTask();
        Assert.False(pull.IsCompleted);
        await cancel.CancelAsync();
        Assert.Equal(PullStatus.Empty, await Within(pull));
    }

    [Fact]
    public async Task Https_with_a_pem_certificate_serves_a_client_that_trusts_its_ca()
    {
        using var certificates = new TestCertificates();
        var host = new TestHost();
        await using var server = await StartAsync(host, ("url", "https://127.0.0.1:0"), ("tls", certificates.ServerTls));
        Assert.Equal("https", server.BoundUrl!.Scheme);
        using var handler = certificates.TrustingHandler();
        using var client = new HttpClient(handler) { BaseAddress = server.BoundUrl };
        var responseTask = client.GetAsync("/secure");
        var chunk = (await PullDataAsync(server)).First(c => !c.IsStreamEnd);
        await server.OnBatchAsync(SinkBatch(("secret", Reply(chunk.Meta))), CancellationToken.None);
        using var response = await Within(responseTask);
        Assert.Equal("secret", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Past_max_connections_a_new_connection_is_refused()
    {
        var host = new TestHost();
        await using var server = await StartAsync(host, ("max-connections", 1));
        using var first = new HttpClient { BaseAddress = server.BoundUrl };
        var held = first.GetAsync("/held");
        var chunk = (await PullDataAsync(server)).First(c => !c.IsStreamEnd);

        // Another client opens another connection: over the limit, Kestrel closes it.
        using var second = new HttpClient { BaseAddress = server.BoundUrl };
        await Assert.ThrowsAsync<HttpRequestException>(() => Within(second.GetAsync("/refused")));

        await server.OnBatchAsync(SinkBatch(("ok", Reply(chunk.Meta))), CancellationToken.None);
        using var response = await Within(held);
        Assert.Equal("ok", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task While_a_request_waits_for_its_response_a_pull_waits_without_a_timer_until_the_runtime_cuts_it_short()
    {
        var host = new TestHost();
        await using var server = await StartAsync(host);
        using var client = new HttpClient { BaseAddress = server.BoundUrl };
        var waiting = client.GetAsync("/waiting");
        var chunk = (await PullDataAsync(server)).First(c => !c.IsStreamEnd);

        // The runtime makes one call at a time and cancels a waiting pull when a sink batch comes for the instance.
        var batch = new SourceBatch(4);
        using var cut = new CancellationTokenSource();
        var pull = server.PullAsync(batch, cut.Token).AsTask();
        Assert.False(pull.IsCompleted);
        await cut.CancelAsync();
        Assert.Equal(PullStatus.Empty, await Within(pull));
        Assert.Equal(0, batch.Count);

        await server.OnBatchAsync(SinkBatch(("answered", Reply(chunk.Meta))), CancellationToken.None);
        using var response = await Within(waiting);
        Assert.Equal("answered", await response.Content.ReadAsStringAsync());
    }
}
