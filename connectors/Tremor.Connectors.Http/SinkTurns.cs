namespace Tremor.Connectors.Http;

/// <summary>
/// The runtime makes every call into a connector one at a time, and cuts a waiting pull short (cancels it) when a sink
/// batch or a hook arrives for the same instance: so a pull may wait for input as long as it takes, and the sink side
/// (responses, messages to send) still gets its turn at once. No timer: an idle connector does not wake up.
/// </summary>
internal static class SinkTurns
{
    /// <summary>
    /// Waits for <paramref name="wait"/> to complete; false when <paramref name="cancellationToken"/> fired. A cut-short
    /// wait is the common case under load (one per response batch of an http_server), so it is seen without an
    /// exception being thrown and caught.
    /// </summary>
    public static ValueTask<bool> WaitAsync(Func<CancellationToken, ValueTask<bool>> wait, CancellationToken cancellationToken)
    {
        var pending = wait(cancellationToken);
        return pending.IsCompletedSuccessfully ? pending : new ValueTask<bool>(Settled(pending.AsTask()));
    }

    private static async Task<bool> Settled(Task<bool> task)
    {
        await ((Task)task).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (task.IsCanceled) return false;
        // A fault other than cancellation is the caller's to see.
        return await task.ConfigureAwait(false);
    }
}
