namespace Tremor.Actors.Connectors;

/// <summary>Exponential backoff with jitter, as a pure function so schedules can be checked directly.</summary>
internal static class Backoff
{
    /// <summary>
    /// The delay before attempt <paramref name="attempt"/> (1 = the first retry): <c>min * growth^(attempt-1)</c>, capped at
    /// <paramref name="max"/>, then moved by up to ±<paramref name="jitter"/> of itself using <paramref name="random01"/>
    /// (a number in [0, 1); 0.5 means no jitter), never above <paramref name="max"/>.
    /// </summary>
    public static TimeSpan Delay(TimeSpan min, TimeSpan max, double growth, int attempt, double jitter, double random01)
    {
        if (attempt < 1) attempt = 1;
        var baseMs = min.TotalMilliseconds * Math.Pow(Math.Max(growth, 1), attempt - 1);
        baseMs = Math.Min(baseMs, max.TotalMilliseconds);
        var factor = 1 + jitter * (2 * random01 - 1);
        var ms = Math.Clamp(baseMs * factor, 0, max.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(ms);
    }
}
