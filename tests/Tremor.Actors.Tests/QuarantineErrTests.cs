namespace Tremor.Actors.Tests;

public sealed class QuarantineErrTests : TremorTestKit
{
    [Fact]
    public async Task Quarantined_events_wait_for_the_err_links_credit_instead_of_being_dropped()
    {
        long[] poison = [3, 7, 11, 15, 25];
        var source = new TestSourceFactory { Total = 40, Transactional = true, ChunksPerPull = 20 };
        var sink = new TestSinkFactory { PoisonOn = [.. poison] };
        var gate = new SemaphoreSlim(0);
        var errors = new TestSinkFactory("err-sink") { Gate = gate };
        Register(source);
        Register(sink);
        Register(errors);
        var (_, exit) = Deploy(Flow("f", """
            connectors {
              src { type = test-source }
              snk { type = test-sink, quarantine-after = 1, restart { min-backoff = 5ms, max-backoff = 20ms, max-restarts = 3 } }
              bad { type = err-sink }
            }
            pipelines { main { type = passthrough } }
            links = ["src -> main", "main -> snk", "snk/err -> bad"]
            """), DataPath(batchSize: 20, credits: 1));
        // Every poison event was found while the err sink holds the first one: the err link has no credit left.
        AwaitCondition(() => source.Failed.Count == poison.Length, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(20));

        gate.Release(poison.Length);

        var code = await exit.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(code == 0, Services.Ledger.Summary?.Line);
        Assert.Equal(poison, errors.Received.Keys.Order());
        Assert.Equal(40 - poison.Length, sink.ReceivedCount);
    }
}
