namespace Tremor.Actors.Connectors;

/// <summary>
/// A log rate-limited per time: in each interval the first <c>burst</c> messages are logged one by one, the rest only
/// counted, to be summed up in one line when the interval ends. Bad input arriving in bulk (thousands of broken lines
/// in one read) then neither floods the log nor goes quiet.
/// </summary>
internal sealed class LogRateLimit(int burst, TimeSpan interval)
{
    private DateTime _windowStart = DateTime.MinValue;
    private int _loggedInWindow;
    private long _suppressed;
    private string? _lastSuppressed;

    /// <summary>True when <paramref name="message"/>, arriving at <paramref name="now"/>, is to be logged; otherwise it is counted.</summary>
    public bool ShouldLog(DateTime now, string message)
    {
        if (now - _windowStart >= interval)
        {
            _windowStart = now;
            _loggedInWindow = 0;
        }
        if (_loggedInWindow < burst)
        {
            _loggedInWindow++;
            return true;
        }
        _suppressed++;
        _lastSuppressed = message;
        return false;
    }

    /// <summary>How long from <paramref name="now"/> until the current interval ends (when its summary is due).</summary>
    public TimeSpan UntilWindowEnd(DateTime now)
    {
        var left = _windowStart + interval - now;
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    /// <summary>The messages counted but not logged since the last call, and the last of them; null when none.</summary>
    public (long Count, string Last)? TakeSuppressed()
    {
        if (_suppressed == 0) return null;
        var result = (_suppressed, _lastSuppressed!);
        _suppressed = 0;
        _lastSuppressed = null;
        return result;
    }
}
