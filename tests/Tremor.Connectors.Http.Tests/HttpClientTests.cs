using System.Security.Cryptography.X509Certificates;
using Tremor.Pdk;
using static Tremor.Connectors.Testing.Fixtures;

namespace Tremor.Connectors.Http.Tests;

public sealed class HttpClientTests
{
    private static HttpClientConnector Create(TestHost host, params (string Key, Value Value)[] config) =>
        (HttpClientConnector)new HttpClientFactory().Create(Context(host, config));

    [Fact]
    public async Task Each_event_is_a_request_and_its_response_an_event_with_status_headers_and_correlation()
    {
        await using var server = await TestServer.StartAsync();
        var host = new TestHost();
        await using var client = Create(host,
            ("url", new Uri(server.Url, "/ingest?src=tremor").ToString()),
            ("headers", Record(("x-config", "from-config"), ("content-type", "application/json"))));
        Assert.True(await client.ConnectAsync(1, CancellationToken.None));

        var meta = Record(("correlation", Record(("id", 5))), ("http_client", Record(("request", Record(("headers", Record(("x-event", Strings("a", "b")))))))));
        var reply = await client.OnBatchAsync(SinkBatch(("""{"n":1}""", meta)), CancellationToken.None);
        Assert.Equal(SinkStatus.Ack, reply.Status);

        var seen = Assert.Single(server.Requests);
        Assert.Equal("POST", seen.Method);
        Assert.Equal("/ingest", seen.Path);
        Assert.Equal("?src=tremor", seen.Query);
        Assert.Equal("""{"n":1}""", seen.Body);
        Assert.Equal("from-config", seen.Headers["x-config"]);
        Assert.Equal("a, b", seen.Headers["x-event"]);
        Assert.Equal("application/json", seen.Headers["content-type"]);

        var chunk = Assert.Single(await PullDataAsync(client), c => !c.IsStreamEnd);
        Assert.Equal("""{"echo":{"n":1},"path":"/ingest"}""", chunk.Text);
        var response = chunk.Meta["http_client"]["response"];
        Assert.Equal(200, response["status"].RawI64);
        Assert.Equal("test", response["headers"]["x-server"][0].AsString());
        Assert.Equal("application/json", response["headers"]["content-type"][0].AsString());
        Assert.Equal(5, chunk.Meta["correlation"]["id"].RawI64);
        Assert.Equal("POST", chunk.Meta["http_client"]["request"]["method"].AsString());
    }

    [Fact]
    public async Task When_some_requests_of_a_batch_fail_the_others_are_acked_and_never_sent_again()
    {
        await using var server = await TestServer.StartAsync();
        var host = new TestHost();
        await using var client = Create(host, ("url", server.Url.ToString()));
        var bad = Record(("http_client", Record(("request", Record(("url", "ftp://example.invalid/"))))));
        var batch = SinkBatch(("1", default), ("2", bad), ("3", default));

        var reply = await client.OnBatchAsync(batch, CancellationToken.None);

        // Settled per event: a retry of the batch would have sent 1 and 3 twice.
        Assert.Equal(SinkStatus.Pending, reply.Status);
        Assert.Equal([batch.Events[0].Id, batch.Events[2].Id], host.Acked.OrderBy(id => id.Sequence));
        var failed = Assert.Single(host.Failed);
        Assert.Equal(batch.Events[1].Id, failed.Id);
        Assert.Contains("ftp://example.invalid/", failed.Reason);
        Assert.Equal(["1", "3"], server.Requests.Select(r => r.Body).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Meta_overrides_url_and_method_per_event()
    {
        await using var server = await TestServer.StartAsync();
        var host = new TestHost();
        await using var client = Create(host, ("url", server.Url.ToString()), ("method", "post"));
        var meta = Record(("http_client", Record(("request", Record(("url", new Uri(server.Url, "/other").ToString()), ("method", "PUT"))))));
        Assert.Equal(SinkStatus.Ack, (await client.OnBatchAsync(SinkBatch(("1", meta), ("2", default)), CancellationToken.None)).Status);

        var seen = server.Requests.OrderBy(r => r.Body, StringComparer.Ordinal).ToList();
        Assert.Equal(("PUT", "/other", "1"), (seen[0].Method, seen[0].Path, seen[0].Body));
        Assert.Equal(("POST", "/", "2"), (seen[1].Method, seen[1].Path, seen[1].Body));
        var chunks = await PullDataAsync(client);
        Assert.Equal(2, chunks.Count(c => !c.IsStreamEnd));
        Assert.Equal(2, chunks.Where(c => !c.IsStreamEnd).Select(c => c.StreamId).Distinct().Count());
    }

    [Fact]
    public async Task A_non_2xx_response_is_emitted_with_its_status_and_fails_the_event_only_when_configured()
    {
        await using var server = await TestServer.StartAsync();
        server.Status = 404;
        var host = new TestHost();
        await using var lenient = Create(host, ("url", server.Url.ToString()));
        Assert.Equal(SinkStatus.Ack, (await lenient.OnBatchAsync(SinkBatch(("{}", default)), CancellationToken.None)).Status);
        Assert.Equal(404, (await PullDataAsync(lenient)).First(c => !c.IsStreamEnd).Meta["http_client"]["response"]["status"].RawI64);

        await using var strict = Create(host, ("url", server.Url.ToString()), ("fail-on-status", true));
        var reply = await strict.OnBatchAsync(SinkBatch(("{}", default)), CancellationToken.None);
        Assert.Equal(SinkStatus.Fail, reply.Status);
        Assert.Contains("404", reply.Error, StringComparison.Ordinal);
        Assert.Equal(404, (await PullDataAsync(strict)).First(c => !c.IsStreamEnd).Meta["http_client"]["response"]["status"].RawI64);
        Assert.Empty(host.ConnectionsLost);
    }

    [Fact]
    public async Task Connection_refused_reports_the_connection_lost_fails_the_batch_and_works_again_once_the_server_is_back()
    {
        var port = FreePort();
        var host = new TestHost();
        await using var client = Create(host, ("url", $"http://127.0.0.1:{port}/"));
        Assert.False(await client.ConnectAsync(1, CancellationToken.None));

        var reply = await client.OnBatchAsync(SinkBatch(("{}", default)), CancellationToken.None);
        Assert.Equal(SinkStatus.Fail, reply.Status);
        var reason = Assert.Single(host.ConnectionsLost);
        Assert.Contains($"127.0.0.1:{port}", reason, StringComparison.Ordinal);
        Assert.False(await client.ConnectAsync(2, CancellationToken.None));

        await using var server = await TestServer.StartAsync(port);
        Assert.True(await client.ConnectAsync(3, CancellationToken.None));
        Assert.Equal(SinkStatus.Ack, (await client.OnBatchAsync(SinkBatch(("{}", default)), CancellationToken.None)).Status);
        Assert.Single(server.Requests);
        Assert.Single(host.ConnectionsLost);
    }

    [Fact]
    public async Task Https_with_a_ca_file_trusts_that_server_and_without_it_refuses_it()
    {
        using var certificates = new TestCertificates();
        using var certificate = X509Certificate2.CreateFromPemFile(certificates.CertFile, certificates.KeyFile);
        await using var server = await TestServer.StartAsync(certificate: certificate);
        var url = $"https://127.0.0.1:{server.Url.Port}/secure";

        var host = new TestHost();
        await using var trusting = Create(host, ("url", url), ("tls", certificates.ClientTls));
        Assert.Equal(SinkStatus.Ack, (await trusting.OnBatchAsync(SinkBatch(("{}", default)), CancellationToken.None)).Status);
        Assert.Equal("/secure", Assert.Single(server.Requests).Path);

        // System roots do not know the test CA.
        await using var system = Create(host, ("url", url));
        Assert.Equal(SinkStatus.Fail, (await system.OnBatchAsync(SinkBatch(("{}", default)), CancellationToken.None)).Status);
    }

    [Fact]
    public async Task Pull_without_responses_waits_until_the_runtime_cuts_it_short_for_the_sink()
    {
        var host = new TestHost();
        await using var client = Create(host, ("url", "http://127.0.0.1:1/"));
        var batch = new SourceBatch(4);
        using var cut = new CancellationTokenSource();
        var pull = client.PullAsync(batch, cut.Token).AsTask();
        Assert.False(pull.IsCompleted);
        await cut.CancelAsync();
        Assert.Equal(PullStatus.Empty, await Within(pull));
        Assert.Equal(0, batch.Count);
    }

    [Fact]
    public async Task The_source_finishes_once_the_requests_ended_and_every_response_was_pulled()
    {
        await using var server = await TestServer.StartAsync();
        var host = new TestHost();
        await using var client = Create(host, ("url", server.Url.ToString()));
        await client.OnBatchAsync(SinkBatch(("{}", default)), CancellationToken.None);
        await client.OnEndAsync(CancellationToken.None);

        var batch = new SourceBatch(4);
        Assert.Equal(PullStatus.Data, await Within(client.PullAsync(batch, CancellationToken.None).AsTask()));
        Assert.Equal(2, batch.Count);
        batch.Clear();
        Assert.Equal(PullStatus.Finished, await Within(client.PullAsync(batch, CancellationToken.None).AsTask()));
    }

    [Fact]
    public async Task Past_max_queued_responses_a_batch_fails_without_sending_instead_of_growing_memory()
    {
        await using var server = await TestServer.StartAsync();
        var host = new TestHost();
        await using var client = Create(host, ("url", server.Url.ToString()), ("max-queued-responses", 1));
        Assert.Equal(SinkStatus.Ack, (await client.OnBatchAsync(SinkBatch(("1", default)), CancellationToken.None)).Status);

        var refused = await client.OnBatchAsync(SinkBatch(("2", default)), CancellationToken.None);
        Assert.Equal(SinkStatus.Fail, refused.Status);
        Assert.Contains("max-queued-responses", refused.Error, StringComparison.Ordinal);
        Assert.Single(server.Requests);

        await PullDataAsync(client);
        Assert.Equal(SinkStatus.Ack, (await client.OnBatchAsync(SinkBatch(("3", default)), CancellationToken.None)).Status);
        Assert.Equal(2, server.Requests.Count);
    }

    [Fact]
    public async Task A_response_over_max_response_size_fails_the_batch_and_is_not_emitted()
    {
        await using var server = await TestServer.StartAsync();
        var host = new TestHost();
        await using var client = Create(host, ("url", server.Url.ToString()), ("max-response-size", 8));
        var reply = await client.OnBatchAsync(SinkBatch(("""{"long":"enough to be over eight bytes"}""", default)), CancellationToken.None);
        Assert.Equal(SinkStatus.Fail, reply.Status);
        Assert.Empty(host.ConnectionsLost);
        Assert.Equal(0, await PullNowAsync(client));
    }
}
