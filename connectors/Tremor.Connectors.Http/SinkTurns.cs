namespace Tremor.Connectors.Http;

/// <summary>
/// The runtime makes every call into a connector one at a time, and a pull that waits is not cancelled when a sink
/// batch arrives for the same instance: a source side that waits for input would keep its own sink side (the
/// responses, the messages to send) waiting behind it. So while the sink side may have work, pulls wait at most
/// <see cref="Slice"/> and return Empty; the runtime pulls again after its short pause, and a sink batch that came
/// meanwhile goes first.
/// </summary>
internal static class SinkTurns
{
    public static readonly TimeSpan Slice = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// Waits for <paramref name="wait"/> to complete, for at most <see cref="Slice"/> when <paramref name="bounded"/>;
    /// false when the slice ran out or <paramref name="cancellationToken"/> fired.
    /// </summary>
    public static async ValueTask<bool> WaitAsync(Func<CancellationToken, ValueTask<bool>> wait, bool bounded, CancellationToken cancellationToken)
    {
        using var slice = bounded ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken) : null;
        slice?.CancelAfter(Slice);
        try
        {
            return await wait(slice?.Token ?? cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
