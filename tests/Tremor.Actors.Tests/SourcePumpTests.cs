using Tremor.Actors.Connectors;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

/// <summary>The source pump without actors: when it pulls, how what a pull brought waits for credit, how a drain and the end of the stream go.</summary>
public sealed class SourcePumpTests
{
    /// <summary>What the pump sends, recorded; credit per port as a downstream would grant it.</summary>
    private sealed class Ports : IPumpPorts
    {
        public Dictionary<string, int> Credit { get; } = new(StringComparer.Ordinal) { ["out"] = 1 };

        public bool BreakerOpen { get; set; }

        public PullGate Gate { get; set; } = PullGate.Open;

        public List<CancellationToken> Pulls { get; } = [];

        public List<(string Port, int Events)> Sent { get; } = [];

        public List<(string Port, int Events)> Unlinked { get; } = [];

        public List<string> Signals { get; } = [];

        public bool IsLinked(string port) => Credit.ContainsKey(port);

        public bool HasCredit(string port) => !Credit.TryGetValue(port, out var c) || c > 0;

        public bool MayPull => !BreakerOpen && Credit.Values.All(c => c > 0);

        public void Send(string port, Event[] events, long[]? weights)
        {
            Credit[port]--;
            Sent.Add((port, events.Length));
        }

        void IPumpPorts.Unlinked(string port, Event[] events, long[]? weights) => Unlinked.Add((port, events.Length));

        public void Pull(int capacity, CancellationToken cancel) => Pulls.Add(cancel);

        public void StopSource() => Signals.Add("stop");

        public void EndOfStream() => Signals.Add("end");

        public void SourceFinished() => Signals.Add("finished");
    }

    private static Event[] Events(int count) => Enumerable.Range(0, count).Select(n => new Event { Id = new EventId(1, 0, 0, (ulong)n) }).ToArray();

    private readonly Ports _ports = new();

    [Fact]
    public void It_pulls_once_at_a_time_only_while_running_with_credit_and_no_breaker_open()
    {
        _ports.Gate = PullGate.Closed;
        var pump = new SourcePump(batchSize: 10, _ports);
        pump.TryPull();
        Assert.Empty(_ports.Pulls);

        _ports.Gate = PullGate.Open;
        _ports.BreakerOpen = true;
        pump.TryPull();
        Assert.Empty(_ports.Pulls);

        _ports.BreakerOpen = false;
        pump.TryPull();
        pump.TryPull();
        Assert.Single(_ports.Pulls);
        Assert.True(pump.Pulling);
    }

    [Fact]
    public void A_pull_of_more_than_a_batch_leaves_one_batch_per_credit_and_no_pull_goes_out_while_it_waits()
    {
        var pump = new SourcePump(batchSize: 2, _ports);
        pump.TryPull();

        var next = pump.Pulled(Events(5), null, [], PullStatus.Data);
        Assert.Equal(PullOutcome.Pull, next);
        pump.TryPull();

        Assert.Equal([("out", 2)], _ports.Sent);
        Assert.Equal(3, pump.WaitingEvents);
        Assert.Single(_ports.Pulls);

        _ports.Credit["out"] = 5;
        pump.SendWaiting();
        pump.TryPull();
        Assert.Equal([("out", 2), ("out", 2), ("out", 1)], _ports.Sent);
        Assert.Equal(2, _ports.Pulls.Count);
    }

    [Fact]
    public void An_empty_pull_waits_before_the_next_but_one_cut_short_for_the_instance_does_not()
    {
        var pump = new SourcePump(batchSize: 10, _ports);
        pump.TryPull();
        Assert.Equal(PullOutcome.PullLater, pump.Pulled([], null, [], PullStatus.Empty));

        pump.TryPull();
        pump.InterruptPull();
        Assert.True(_ports.Pulls[^1].IsCancellationRequested);
        Assert.Equal(PullOutcome.Pull, pump.Pulled([], null, [], PullStatus.Empty));

        pump.TryPull();
        Assert.False(_ports.Pulls[^1].IsCancellationRequested);
    }

    [Fact]
    public void Draining_a_source_that_hands_over_pulls_until_a_pull_sent_during_the_drain_brings_nothing()
    {
        _ports.Credit["out"] = 10;
        var pump = new SourcePump(batchSize: 10, _ports);
        pump.InstanceCreated(transactional: true, pullsWhileDraining: true);
        pump.TryPull();
        _ports.Gate = PullGate.Draining;

        // Sent before the drain: its empty answer is not the last word.
        Assert.Equal(PullOutcome.Pull, pump.Pulled([], null, [], PullStatus.Empty));
        pump.TryPull();
        Assert.Equal(PullOutcome.Pull, pump.Pulled(Events(1), null, [], PullStatus.Data));
        pump.TryPull();
        Assert.Equal(PullOutcome.Stop, pump.Pulled([], null, [], PullStatus.Empty));
        pump.Stop();
        pump.TryPull();

        Assert.Equal(3, _ports.Pulls.Count);
        Assert.Equal(["stop"], _ports.Signals);
    }

    [Fact]
    public void Draining_a_source_that_does_not_hand_over_pulls_nothing()
    {
        _ports.Gate = PullGate.Draining;
        var pump = new SourcePump(batchSize: 10, _ports);
        pump.InstanceCreated(transactional: false, pullsWhileDraining: false);
        pump.TryPull();
        Assert.Empty(_ports.Pulls);
    }

    [Fact]
    public void The_end_of_the_stream_goes_after_the_last_batch_that_waited_for_credit()
    {
        var pump = new SourcePump(batchSize: 10, _ports);
        _ports.Credit["out"] = 0;
        pump.TryPull();
        Assert.Empty(_ports.Pulls);
        _ports.Credit["out"] = 1;
        pump.TryPull();
        _ports.Credit["out"] = 0;
        Assert.Equal(PullOutcome.Finish, pump.Pulled(Events(3), null, [], PullStatus.Finished));
        pump.Finish();
        Assert.Empty(_ports.Signals);
        Assert.False(pump.Finished);

        _ports.Credit["out"] = 1;
        pump.SendWaiting();
        pump.Finish();

        Assert.Equal([("out", 3)], _ports.Sent);
        Assert.Equal(["end", "finished"], _ports.Signals);
        Assert.True(pump.Finished);
    }

    [Fact]
    public void Errors_for_an_unlinked_err_port_do_not_wait_for_credit()
    {
        var pump = new SourcePump(batchSize: 10, _ports);
        pump.TryPull();
        pump.Pulled(Events(2), null, Events(4), PullStatus.Data);
        Assert.Equal([("out", 2)], _ports.Sent);
        Assert.Equal([("err", 4)], _ports.Unlinked);
        Assert.Equal(0, pump.WaitingEvents);
    }

    [Fact]
    public void A_sink_only_connector_ends_its_err_port_after_the_quarantined_events_that_wait_on_it()
    {
        _ports.Credit.Clear();
        _ports.Credit["err"] = 0;
        var pump = new SourcePump(batchSize: 10, _ports);
        pump.NoSource();
        pump.Enqueue("err", Events(1), null);
        pump.SendWaiting();

        pump.EndWithoutSource();
        Assert.Equal(["finished"], _ports.Signals);

        _ports.Credit["err"] = 1;
        pump.SendWaiting();
        Assert.Equal([("err", 1)], _ports.Sent);
        Assert.Equal(["finished", "end"], _ports.Signals);
    }
}
