using System.Threading.Channels;
using Tremor.Pdk;

namespace Tremor.Connectors;

/// <summary>How a source whose input arrives on a channel waits in its pull, untimed.</summary>
internal static class PullWait
{
    /// <summary>
    /// Waits until <paramref name="reader"/> has an item, as long as it takes: no wake-ups on a timer. Null: there is
    /// input, read on. Otherwise the pull's answer: <see cref="PullStatus.Empty"/> when the runtime cut the wait short
    /// (it cancels the token whenever it has other work for the instance: a sink batch, acks and fails for the source,
    /// a hook, a lost connection), <see cref="PullStatus.Finished"/> when the channel was completed.
    /// </summary>
    public static async ValueTask<PullStatus?> ForInputAsync<T>(ChannelReader<T> reader, CancellationToken cancellationToken)
    {
        if (reader.TryPeek(out _)) return null;
        try
        {
            return await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false) ? null : PullStatus.Finished;
        }
        catch (OperationCanceledException)
        {
            return PullStatus.Empty;
        }
    }
}
