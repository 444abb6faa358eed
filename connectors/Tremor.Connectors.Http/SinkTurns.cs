namespace Tremor.Connectors.Http;

/// <summary>
/// The runtime makes every call into a connector one at a time, and cuts a waiting pull short (cancels it) when a sink
/// batch or a hook arrives for the same instance: so a pull may wait for input as long as it takes, and the sink side
/// (responses, messages to send) still gets its turn at once. No timer: an idle connector does not wake up.
/// </summary>
internal static class SinkTurns
{
    /// <summary>Waits for <paramref name="wait"/> to complete; false when <paramref name="cancellationToken"/> fired.</summary>
    public static async ValueTask<bool> WaitAsync(Func<CancellationToken, ValueTask<bool>> wait, CancellationToken cancellationToken)
    {
        try
        {
            return await wait(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
