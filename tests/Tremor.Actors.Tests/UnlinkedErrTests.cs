using Akka.Event;
using Akka.TestKit;

namespace Tremor.Actors.Tests;

/// <summary>An unlinked err port logs and counts; on virtual time, so the rate limit's interval is exact.</summary>
public sealed class UnlinkedErrTests : TremorTestKit
{
    public UnlinkedErrTests()
        : base(TestSchedulerConfig)
    {
    }

    [Fact]
    public async Task Many_errors_in_one_read_on_an_unlinked_err_port_log_the_first_ten_then_a_count()
    {
        var logs = CreateTestProbe();
        Sys.EventStream.Subscribe(logs.Ref, typeof(Warning));
        Register(new TestSourceFactory { Total = 50, ChunksPerPull = 50, Payload = n => $"bad line {n}" });
        Register(new TestSinkFactory());
        var (_, exit) = Deploy(Flow("f", """
            connectors {
              src { type = test-source }
              snk { type = test-sink }
            }
            links = ["src -> snk"]
            """), DataPath(batchSize: 64));
        Assert.Equal(0, await exit.WaitAsync(TimeSpan.FromSeconds(30)));

        // The 50 bad lines came in one pull: the first ten are shown one by one.
        for (var i = 0; i < 10; i++)
        {
            var line = logs.FishForMessage<Warning>(w => w.Message.ToString()!.Contains("err port not linked", StringComparison.Ordinal), TimeSpan.FromSeconds(10)).Message.ToString();
            Assert.Contains("codec: ", line);
        }
        // The rest is summed up once the interval is over.
        ((TestScheduler)Sys.Scheduler).Advance(TimeSpan.FromSeconds(10));
        var summary = logs.FishForMessage<Warning>(w => w.Message.ToString()!.Contains("not logged", StringComparison.Ordinal), TimeSpan.FromSeconds(10)).Message.ToString();
        Assert.Contains("40 more error(s) not logged in the last 10s", summary);
        Assert.Contains("50 errors so far", summary);
        var status = await Sys.ActorSelection("/user/world/connectors/f.src").Ask<Connectors.ConnectorActor.Status>(new Connectors.ConnectorActor.GetStatus(), TimeSpan.FromSeconds(10));
        Assert.Equal(50, status.Errors);
        Assert.Equal(50, status.Dropped);
    }
}
