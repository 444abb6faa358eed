namespace Tremor.Actors.Tests;

public sealed class PipelineBatchSizeTests : TremorTestKit
{
    [Fact]
    public async Task What_a_window_emits_at_once_leaves_the_pipeline_in_batches_no_larger_than_batch_size()
    {
        const int total = 1000;
        var sink = new TestSinkFactory();
        Register(new TestSourceFactory { Total = total });
        Register(sink);
        // One group per event: at the end every group's window emits, a thousand events from one step.
        var (_, exit) = Deploy(Flow("f", """"
            connectors {
              src { type = test-source }
              snk { type = test-sink }
            }
            pipelines {
              main {
                query = """
                  define window w from tumbling with size = 1000000 end;
                  select { "n": aggr::win::first(event.n) } from in[w] group by event.n into out;
                """
              }
            }
            links = ["src -> main", "main -> snk"]
            """"), DataPath(batchSize: 10, credits: 2));

        Assert.Equal(0, await exit.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(Enumerable.Range(0, total).Select(i => (long)i), sink.Received.Keys.Order());
        Assert.InRange(sink.MaxBatch, 1, 10);
    }
}
