using Tremor.Pdk;

namespace Tremor.Actors.Connectors;

/// <summary>What a <see cref="HotSwap{TRequester}"/> asks of the old plugin instance: the connector actor implements it with its proxy, pump and encoder.</summary>
internal interface ISwapSteps
{
    /// <summary>The source side has nothing (more) to hand over: the connector has none, or it finished.</summary>
    bool SourceDone { get; }

    /// <summary>The source delivers what it already accepted when drained (<see cref="ISource.PullsWhileDraining"/>).</summary>
    bool PullsWhileDraining { get; }

    /// <summary>The sink side has nothing to end: the connector has none, or its end hook was sent already.</summary>
    bool SinkDone { get; }

    /// <summary>Sends the drain hook, queued behind the call the instance is in (whose answer comes back first).</summary>
    void DrainHook();

    /// <summary>One pull of what the old instance already accepted.</summary>
    void Pull();

    /// <summary>Ends the old instance's streams: what its preprocessors hold is dropped, as at a drain.</summary>
    void StopSource();

    /// <summary>Sends the sink's end hook: it flushes what it buffered and settles what it acknowledged asynchronously.</summary>
    void EndSink();

    /// <summary>Stops the old instance (its proxy disposes it; the connector hears when it is gone).</summary>
    void Retire();
}

/// <summary>
/// One hot swap of a connector's plugin instance, driven by the old instance's answers (they arrive in the order the
/// requests went out): drain hook, then what the source already accepted and the decoder's buffered bytes, then the
/// sink's end hook, then the instance is retired and one from <see cref="Factory"/> is created by the connector. The
/// connector keeps the lifecycle (its Swapping state, the timeout, the new instance); this keeps the steps. Plain, so it
/// is tested without actors; <typeparamref name="TRequester"/> is who is told once the old instance is gone (an actor
/// in the runtime, anything in a test).
/// </summary>
internal sealed class HotSwap<TRequester>
{
    private readonly ISwapSteps _steps;
    private readonly List<TRequester> _replyTo;
    private Step _step = Step.DrainHook;

    public HotSwap(IConnectorFactory factory, TRequester requester, ISwapSteps steps)
    {
        Factory = factory;
        _replyTo = [requester];
        _steps = steps;
    }

    private enum Step
    {
        DrainHook,
        Pulling,
        Flushing,
        SinkEnd,
        Retiring,
    }

    /// <summary>Where the new instance comes from: the newest version asked for.</summary>
    public IConnectorFactory Factory { get; private set; }

    /// <summary>Everyone who asked for this swap, to be told once the old instance is gone.</summary>
    public IReadOnlyList<TRequester> ReplyTo => _replyTo;

    /// <summary>The old instance hands over what its source accepted: the pulls answered now are that.</summary>
    public bool HandingOver => _step == Step.Pulling;

    /// <summary>Starts the swap with the drain hook (nothing new is pulled or delivered meanwhile).</summary>
    public void Begin() => _steps.DrainHook();

    /// <summary>A newer version asked for while swapping: the newest one is created, and both askers are told.</summary>
    public void Newer(IConnectorFactory factory, TRequester requester)
    {
        Factory = factory;
        _replyTo.Add(requester);
    }

    /// <summary>A hook the old instance ran; false when it is not one of the swap's (the connector handles it).</summary>
    public bool HookDone(PluginProxy.HookKind kind)
    {
        if (kind == PluginProxy.HookKind.Drain && _step == Step.DrainHook)
        {
            HandOverSource();
            return true;
        }
        if (kind == PluginProxy.HookKind.SinkEnd && _step == Step.SinkEnd)
        {
            Retire();
            return true;
        }
        return false;
    }

    /// <summary>
    /// What the source side is to see of a pull's <paramref name="status"/>: a drained source's Finished (a server that
    /// stopped reading answers it once its queue is empty) ends the old instance's hand-over, not the source.
    /// </summary>
    public PullStatus SourceSees(PullStatus status) => HandingOver && status == PullStatus.Finished ? PullStatus.Data : status;

    /// <summary>A pull answered while swapping was taken in: the hand-over pulls again while it brings something.</summary>
    public void Pulled(PullStatus status, bool gotAnything)
    {
        if (!HandingOver) return;
        if (status != PullStatus.Finished && gotAnything && !_steps.SourceDone) _steps.Pull();
        else FlushSource();
    }

    /// <summary>The old instance's streams ended (its source stopped).</summary>
    public void SourceStopped()
    {
        if (_step == Step.Flushing) EndSink();
    }

    /// <summary>The old instance did not hand over in time: it is retired as it is (a batch it holds goes to the new one).</summary>
    public void TimedOut() => Retire();

    private void HandOverSource()
    {
        if (_steps.SourceDone)
        {
            EndSink();
            return;
        }
        if (_steps.PullsWhileDraining)
        {
            // What the source already accepted (reads queued from open connections) is delivered, as at a drain.
            _step = Step.Pulling;
            _steps.Pull();
            return;
        }
        FlushSource();
    }

    private void FlushSource()
    {
        if (_steps.SourceDone)
        {
            EndSink();
            return;
        }
        // A partial line must not be glued to what the new instance reads: as at a drain, it is the start of a line
        // whose rest the old instance did not read.
        _step = Step.Flushing;
        _steps.StopSource();
    }

    private void EndSink()
    {
        if (_steps.SinkDone)
        {
            Retire();
            return;
        }
        _step = Step.SinkEnd;
        _steps.EndSink();
    }

    private void Retire()
    {
        if (_step == Step.Retiring) return;
        _step = Step.Retiring;
        _steps.Retire();
    }
}
