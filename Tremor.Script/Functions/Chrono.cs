using System.Globalization;
using System.Text;

namespace Tremor.Script.Functions;

/// <summary>A time zone as Tremor's datetime functions take it: an IANA zone or a fixed offset from UTC.</summary>
internal sealed class Zone
{
    private readonly TimeZoneInfo? _info;
    private readonly TimeSpan _fixed;

    private Zone(TimeZoneInfo? info, TimeSpan offset, string name)
    {
        _info = info;
        _fixed = offset;
        Name = name;
    }

    public static readonly Zone Utc = new(null, TimeSpan.Zero, "UTC");

    public string Name { get; }

    public bool IsFixed => _info is null;

    public TimeSpan OffsetAt(long utcNanos) =>
        _info is null ? _fixed : _info.GetUtcOffset(DateTime.UnixEpoch.AddTicks(utcNanos / 100));

    /// <summary>The abbreviation %Z prints: fixed offsets print themselves (as chrono does), zones their standard name.</summary>
    public string Abbreviation(long utcNanos)
    {
        if (_info is null) return _fixed == TimeSpan.Zero && Name == "UTC" ? "UTC" : Chrono.Offset(_fixed, colon: true);
        var utc = DateTime.UnixEpoch.AddTicks(utcNanos / 100);
        var name = _info.IsDaylightSavingTime(utc) ? _info.DaylightName : _info.StandardName;
        // The zone's abbreviation (CET, EST) when the system has one, as chrono-tz prints; its IANA name otherwise.
        return string.IsNullOrEmpty(name) || name.Contains(' ', StringComparison.Ordinal) ? Name : name;
    }

    private static readonly Lazy<string[]> Ids = new(() =>
    {
        var ids = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var z in TimeZoneInfo.GetSystemTimeZones())
        {
            if (z.HasIanaId) ids.Add(z.Id);
        }
        ids.Add("UTC");
        return [.. ids];
    });

    /// <summary>
    /// The IANA zones this machine knows, in a stable order: <c>datetime::timezones::EUROPE_BERLIN</c> is an index into
    /// it. Tremor says never to rely on those numbers; ours differ from Tremor's.
    /// </summary>
    public static IReadOnlyList<string> KnownIds => Ids.Value;

    public static string ConstantName(string id) => id.ToUpperInvariant().Replace('/', '_').Replace('-', '_').Replace('+', '_');

    /// <summary>A zone from an index into <see cref="KnownIds"/>, an IANA name, <c>UTC</c>/<c>Z</c> or a fixed offset (<c>+01:00</c>, <c>-0530</c>).</summary>
    public static bool TryResolve(Tremor.Pdk.Value v, out Zone zone, out string error)
    {
        zone = Utc;
        error = "";
        if (v.TryGetI64(out var index))
        {
            if (index < 0 || index >= KnownIds.Count)
            {
                error = $"{index} is not a timezone constant (use datetime::timezones::...)";
                return false;
            }
            return TryResolve(Tremor.Pdk.Value.From(KnownIds[(int)index]), out zone, out error);
        }
        if (v.AsString() is not { } name)
        {
            error = $"a timezone is a datetime::timezones constant or a string, got {Runtime.ValueOps.TypeName(v)}";
            return false;
        }
        if (name is "UTC" or "Z" or "utc")
        {
            zone = Utc;
            return true;
        }
        var pos = 0;
        if (Chrono.TryParseOffset(name, ref pos, allowZ: false, out var offset) && pos == name.Length)
        {
            zone = new Zone(null, offset, name);
            return true;
        }
        try
        {
            zone = new Zone(TimeZoneInfo.FindSystemTimeZoneById(name), TimeSpan.Zero, name);
            return true;
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            error = $"unknown timezone `{name}`: use an IANA name (Europe/Berlin), a datetime::timezones constant or an offset (+01:00)";
            return false;
        }
    }
}

/// <summary>
/// Tremor's datetime format syntax (Rust chrono's strftime): formatting a UTC nanosecond timestamp in a zone, and
/// parsing a string into one. Both directions share the specifiers: %Y %C %y %m %b %h %B %d %e %a %A %w %u %U %W %G
/// %g %V %j %D %x %F %v %H %k %I %l %P %p %M %S %f %.f %.3f %.6f %.9f %3f %6f %9f %R %T %X %r %Z %z %:z %::z %:::z %c
/// %+ %s %t %n %%, with the padding modifiers %- %_ %0.
/// </summary>
internal static class Chrono
{
    private static readonly string[] Months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
    private static readonly string[] Days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

    private const long NanosPerSecond = 1_000_000_000;

    public static DateTime LocalDateTime(long utcNanos, Zone zone, out long subsecondNanos)
    {
        var local = utcNanos + zone.OffsetAt(utcNanos).Ticks * 100;
        subsecondNanos = ((local % NanosPerSecond) + NanosPerSecond) % NanosPerSecond;
        var seconds = (local - subsecondNanos) / NanosPerSecond;
        return DateTime.UnixEpoch.AddSeconds(seconds);
    }

    public static string Offset(TimeSpan offset, bool colon, bool seconds = false, bool hoursOnly = false)
    {
        var sign = offset < TimeSpan.Zero ? '-' : '+';
        var abs = offset.Duration();
        var sb = new StringBuilder().Append(sign).Append(abs.Hours.ToString("00", CultureInfo.InvariantCulture));
        if (hoursOnly) return sb.ToString();
        if (colon) sb.Append(':');
        sb.Append(abs.Minutes.ToString("00", CultureInfo.InvariantCulture));
        if (seconds) sb.Append(':').Append(abs.Seconds.ToString("00", CultureInfo.InvariantCulture));
        return sb.ToString();
    }

    /// <summary>Formats <paramref name="utcNanos"/> in <paramref name="zone"/>; an unknown specifier is an error naming it.</summary>
    public static string Format(long utcNanos, Zone zone, string format)
    {
        var offset = zone.OffsetAt(utcNanos);
        var dt = LocalDateTime(utcNanos, zone, out var nanos);
        var sb = new StringBuilder(format.Length + 16);
        for (var i = 0; i < format.Length; i++)
        {
            var c = format[i];
            if (c != '%')
            {
                sb.Append(c);
                continue;
            }
            if (++i >= format.Length) throw new FormatException("the format ends with a lone `%`");
            var pad = '\0';
            if (format[i] is '-' or '_' or '0')
            {
                pad = format[i] == '-' ? '-' : format[i] == '_' ? ' ' : '0';
                if (++i >= format.Length) throw new FormatException("the format ends inside a specifier");
            }
            var spec = format[i];
            switch (spec)
            {
                case 'Y':
                    {
                        var y = dt.Year;
                        sb.Append(y is >= 0 and <= 9999 ? Pad(y, 4, pad, '0') : (y > 0 ? "+" : "") + y.ToString(CultureInfo.InvariantCulture));
                        break;
                    }
                case 'C': sb.Append(Pad(dt.Year / 100, 2, pad, '0')); break;
                case 'y': sb.Append(Pad(dt.Year % 100, 2, pad, '0')); break;
                case 'm': sb.Append(Pad(dt.Month, 2, pad, '0')); break;
                case 'b' or 'h': sb.Append(Months[dt.Month - 1][..3]); break;
                case 'B': sb.Append(Months[dt.Month - 1]); break;
                case 'd': sb.Append(Pad(dt.Day, 2, pad, '0')); break;
                case 'e': sb.Append(Pad(dt.Day, 2, pad, ' ')); break;
                case 'a': sb.Append(Days[(int)dt.DayOfWeek][..3]); break;
                case 'A': sb.Append(Days[(int)dt.DayOfWeek]); break;
                case 'w': sb.Append((int)dt.DayOfWeek); break;
                case 'u': sb.Append(dt.DayOfWeek == DayOfWeek.Sunday ? 7 : (int)dt.DayOfWeek); break;
                case 'U': sb.Append(Pad((dt.DayOfYear + 6 - (int)dt.DayOfWeek) / 7, 2, pad, '0')); break;
                case 'W': sb.Append(Pad((dt.DayOfYear + 6 - ((int)dt.DayOfWeek + 6) % 7) / 7, 2, pad, '0')); break;
                case 'G': sb.Append(Pad(ISOWeek.GetYear(dt), 4, pad, '0')); break;
                case 'g': sb.Append(Pad(ISOWeek.GetYear(dt) % 100, 2, pad, '0')); break;
                case 'V': sb.Append(Pad(ISOWeek.GetWeekOfYear(dt), 2, pad, '0')); break;
                case 'j': sb.Append(Pad(dt.DayOfYear, 3, pad, '0')); break;
                case 'D' or 'x': sb.Append(Format(utcNanos, zone, "%m/%d/%y")); break;
                case 'F': sb.Append(Format(utcNanos, zone, "%Y-%m-%d")); break;
                case 'v': sb.Append(Format(utcNanos, zone, "%e-%b-%Y")); break;
                case 'H': sb.Append(Pad(dt.Hour, 2, pad, '0')); break;
                case 'k': sb.Append(Pad(dt.Hour, 2, pad, ' ')); break;
                case 'I': sb.Append(Pad(Hour12(dt.Hour), 2, pad, '0')); break;
                case 'l': sb.Append(Pad(Hour12(dt.Hour), 2, pad, ' ')); break;
                case 'P': sb.Append(dt.Hour < 12 ? "am" : "pm"); break;
                case 'p': sb.Append(dt.Hour < 12 ? "AM" : "PM"); break;
                case 'M': sb.Append(Pad(dt.Minute, 2, pad, '0')); break;
                case 'S': sb.Append(Pad(dt.Second, 2, pad, '0')); break;
                case 'f': sb.Append(nanos.ToString("000000000", CultureInfo.InvariantCulture)); break;
                case '.':
                    {
                        // %.f picks 0, 3, 6 or 9 digits; %.3f %.6f %.9f are fixed.
                        if (i + 1 < format.Length && format[i + 1] == 'f')
                        {
                            i++;
                            if (nanos == 0) break;
                            var digits = nanos % 1_000_000 == 0 ? 3 : nanos % 1000 == 0 ? 6 : 9;
                            sb.Append('.').Append(Fraction(nanos, digits));
                        }
                        else if (i + 2 < format.Length && format[i + 1] is '3' or '6' or '9' && format[i + 2] == 'f')
                        {
                            sb.Append('.').Append(Fraction(nanos, format[i + 1] - '0'));
                            i += 2;
                        }
                        else throw new FormatException("unknown specifier `%.`: use %.f, %.3f, %.6f or %.9f");
                        break;
                    }
                case '3' or '6' or '9' when i + 1 < format.Length && format[i + 1] == 'f':
                    sb.Append(Fraction(nanos, spec - '0'));
                    i++;
                    break;
                case 'R': sb.Append(Format(utcNanos, zone, "%H:%M")); break;
                case 'T' or 'X': sb.Append(Format(utcNanos, zone, "%H:%M:%S")); break;
                case 'r': sb.Append(Format(utcNanos, zone, "%I:%M:%S %p")); break;
                case 'Z': sb.Append(zone.Abbreviation(utcNanos)); break;
                case 'z': sb.Append(Offset(offset, colon: false)); break;
                case ':':
                    {
                        var colons = 1;
                        while (i + colons < format.Length && format[i + colons] == ':') colons++;
                        if (i + colons >= format.Length || format[i + colons] != 'z' || colons > 3) throw new FormatException("unknown specifier `%:`: use %:z, %::z or %:::z");
                        sb.Append(colons switch
                        {
                            1 => Offset(offset, colon: true),
                            2 => Offset(offset, colon: true, seconds: true),
                            _ => Offset(offset, colon: true, hoursOnly: true),
                        });
                        i += colons;
                        break;
                    }
                case 'c': sb.Append(Format(utcNanos, zone, "%a %b %e %H:%M:%S %Y")); break;
                case '+': sb.Append(Format(utcNanos, zone, "%Y-%m-%dT%H:%M:%S%.f%:z")); break;
                case 's': sb.Append(((utcNanos - (((utcNanos % NanosPerSecond) + NanosPerSecond) % NanosPerSecond)) / NanosPerSecond).ToString(CultureInfo.InvariantCulture)); break;
                case 't': sb.Append('\t'); break;
                case 'n': sb.Append('\n'); break;
                case '%': sb.Append('%'); break;
                default: throw new FormatException($"unknown specifier `%{spec}`");
            }
        }
        return sb.ToString();
    }

    private static int Hour12(int hour) => hour % 12 == 0 ? 12 : hour % 12;

    private static string Fraction(long nanos, int digits) =>
        (nanos / (long)Math.Pow(10, 9 - digits)).ToString(new string('0', digits), CultureInfo.InvariantCulture);

    private static string Pad(int value, int width, char pad, char natural)
    {
        var s = value.ToString(CultureInfo.InvariantCulture);
        var fill = pad == '\0' ? natural : pad;
        return fill == '-' ? s : s.PadLeft(width, fill);
    }

    /// <summary>Null when every specifier of <paramref name="format"/> is known, else what is wrong.</summary>
    public static string? Validate(string format)
    {
        for (var i = 0; i < format.Length; i++)
        {
            if (format[i] != '%') continue;
            if (++i < format.Length && format[i] is '-' or '_' or '0') i++;
            if (i >= format.Length) return "the format ends inside a specifier";
            var spec = format[i];
            if ("YCymbhBdeaAwuUWGgVjDxFvHkIlPpMSfRTXrZzcs+tn%".Contains(spec)) continue;
            var rest = format.AsSpan(i);
            if (rest.StartsWith(".f") || rest.StartsWith(".3f") || rest.StartsWith(".6f") || rest.StartsWith(".9f") || rest.StartsWith("3f")
                || rest.StartsWith("6f") || rest.StartsWith("9f") || rest.StartsWith(":z") || rest.StartsWith("::z") || rest.StartsWith(":::z") || rest.StartsWith("#z"))
            {
                i += rest.IndexOf(rest[0] == '.' || char.IsAsciiDigit(rest[0]) ? 'f' : 'z');
                continue;
            }
            return $"unknown specifier `%{spec}`";
        }
        return null;
    }

    // ---- parsing ----

    /// <summary>True when the format carries a UTC offset (%z, %:z, %#z, %+): the text then says its own zone.</summary>
    public static bool HasZone(string format)
    {
        for (var i = 0; i + 1 < format.Length; i++)
        {
            if (format[i] != '%') continue;
            var n = format[i + 1];
            if (n is '+' or 'z') return true;
            if (n is ':' or '#' && i + 2 < format.Length && format[i + 2] == 'z') return true;
            i++;
        }
        return false;
    }

    /// <summary>
    /// Parses <paramref name="input"/> by <paramref name="format"/> into UTC nanoseconds, as Tremor does: a format with an
    /// offset uses it, one without reads the text as UTC. Like chrono it needs at least a date and the hour and minute
    /// (or %s); the whole input must be consumed.
    /// </summary>
    public static bool TryParse(string input, string format, out long nanos, out string error)
    {
        nanos = 0;
        error = "";
        int? year = null, month = null, day = null, hour = null, minute = null, second = null, dayOfYear = null, hour12 = null;
        bool? pm = null;
        long fraction = 0;
        long? timestamp = null;
        TimeSpan offset = TimeSpan.Zero;
        var hasOffset = false;
        var p = 0;
        for (var i = 0; i < format.Length; i++)
        {
            var c = format[i];
            if (char.IsWhiteSpace(c))
            {
                // A space in the format takes any run of whitespace, none included (chrono).
                while (p < input.Length && char.IsWhiteSpace(input[p])) p++;
                continue;
            }
            if (c != '%')
            {
                if (p >= input.Length || input[p] != c) return Fail(out error, $"expected `{c}` at position {p} of \"{input}\"");
                p++;
                continue;
            }
            if (++i >= format.Length) return Fail(out error, "the format ends with a lone `%`");
            if (format[i] is '-' or '_' or '0')
            {
                if (++i >= format.Length) return Fail(out error, "the format ends inside a specifier");
                while (p < input.Length && input[p] == ' ') p++;
            }
            var spec = format[i];
            switch (spec)
            {
                case 'Y': if (!Number(input, ref p, 1, 9, true, out var y)) return Bad(out error, "year", p, input); year = (int)y; break;
                case 'C': return Fail(out error, "%C cannot be parsed: use %Y");
                case 'y':
                    {
                        if (!Number(input, ref p, 1, 2, false, out var yy)) return Bad(out error, "year", p, input);
                        year = (int)(yy < 70 ? 2000 + yy : 1900 + yy);
                        break;
                    }
                case 'm': if (!Number(input, ref p, 1, 2, false, out var mo)) return Bad(out error, "month", p, input); month = (int)mo; break;
                case 'b' or 'h' or 'B':
                    {
                        var idx = Name(input, ref p, Months);
                        if (idx < 0) return Bad(out error, "month name", p, input);
                        month = idx + 1;
                        break;
                    }
                case 'd' or 'e':
                    {
                        while (spec == 'e' && p < input.Length && input[p] == ' ') p++;
                        if (!Number(input, ref p, 1, 2, false, out var d)) return Bad(out error, "day", p, input);
                        day = (int)d;
                        break;
                    }
                case 'a' or 'A': if (Name(input, ref p, Days) < 0) return Bad(out error, "weekday name", p, input); break;
                case 'w' or 'u': if (!Number(input, ref p, 1, 1, false, out _)) return Bad(out error, "weekday", p, input); break;
                case 'j': if (!Number(input, ref p, 1, 3, false, out var doy)) return Bad(out error, "day of the year", p, input); dayOfYear = (int)doy; break;
                case 'H' or 'k':
                    {
                        while (spec == 'k' && p < input.Length && input[p] == ' ') p++;
                        if (!Number(input, ref p, 1, 2, false, out var h)) return Bad(out error, "hour", p, input);
                        hour = (int)h;
                        break;
                    }
                case 'I' or 'l':
                    {
                        while (spec == 'l' && p < input.Length && input[p] == ' ') p++;
                        if (!Number(input, ref p, 1, 2, false, out var h)) return Bad(out error, "hour", p, input);
                        hour12 = (int)h;
                        break;
                    }
                case 'p' or 'P':
                    {
                        if (p + 2 > input.Length) return Bad(out error, "AM/PM", p, input);
                        var ap = input.Substring(p, 2).ToUpperInvariant();
                        if (ap is not ("AM" or "PM")) return Bad(out error, "AM/PM", p, input);
                        pm = ap == "PM";
                        p += 2;
                        break;
                    }
                case 'M': if (!Number(input, ref p, 1, 2, false, out var mi)) return Bad(out error, "minute", p, input); minute = (int)mi; break;
                case 'S': if (!Number(input, ref p, 1, 2, false, out var s)) return Bad(out error, "second", p, input); second = (int)s; break;
                case 'f': if (!Fraction(input, ref p, 9, out fraction)) return Bad(out error, "nanoseconds", p, input); break;
                case '.':
                    {
                        if (i + 1 < format.Length && format[i + 1] == 'f') i++;
                        else if (i + 2 < format.Length && format[i + 1] is '3' or '6' or '9' && format[i + 2] == 'f') i += 2;
                        else return Fail(out error, "unknown specifier `%.`: use %.f, %.3f, %.6f or %.9f");
                        // The dot and its digits are optional, as chrono's %.f.
                        if (p < input.Length && input[p] == '.')
                        {
                            p++;
                            if (!Fraction(input, ref p, 9, out fraction)) return Bad(out error, "fraction of a second", p, input);
                        }
                        break;
                    }
                case '3' or '6' or '9' when i + 1 < format.Length && format[i + 1] == 'f':
                    i++;
                    if (!Fraction(input, ref p, spec - '0', out fraction)) return Bad(out error, "fraction of a second", p, input);
                    break;
                case 'z' or '#':
                    {
                        if (spec == '#' && !(i + 1 < format.Length && format[++i] == 'z')) return Fail(out error, "unknown specifier `%#`: use %#z");
                        if (!TryParseOffset(input, ref p, allowZ: spec == '#', out offset)) return Bad(out error, "UTC offset", p, input);
                        hasOffset = true;
                        break;
                    }
                case ':':
                    {
                        while (i < format.Length && format[i] == ':') i++;
                        if (i >= format.Length || format[i] != 'z') return Fail(out error, "unknown specifier `%:`: use %:z");
                        if (!TryParseOffset(input, ref p, allowZ: false, out offset)) return Bad(out error, "UTC offset", p, input);
                        hasOffset = true;
                        break;
                    }
                case 'Z':
                    while (p < input.Length && char.IsAsciiLetter(input[p])) p++;
                    break;
                case 's':
                    {
                        if (!Number(input, ref p, 1, 19, true, out var ts)) return Bad(out error, "UNIX timestamp", p, input);
                        timestamp = ts;
                        break;
                    }
                case 'D' or 'x' or 'F' or 'v' or 'R' or 'T' or 'X' or 'r' or 'c' or '+':
                    {
                        var expansion = spec switch
                        {
                            'D' or 'x' => "%m/%d/%y",
                            'F' => "%Y-%m-%d",
                            'v' => "%e-%b-%Y",
                            'R' => "%H:%M",
                            'T' or 'X' => "%H:%M:%S",
                            'r' => "%I:%M:%S %p",
                            'c' => "%a %b %e %H:%M:%S %Y",
                            _ => "%Y-%m-%dT%H:%M:%S%.f%#z",
                        };
                        format = string.Concat(format.AsSpan(0, i - 1), expansion, format.AsSpan(i + 1));
                        i -= 2;
                        break;
                    }
                case 't' or 'n':
                    while (p < input.Length && char.IsWhiteSpace(input[p])) p++;
                    break;
                case '%':
                    if (p >= input.Length || input[p] != '%') return Bad(out error, "`%`", p, input);
                    p++;
                    break;
                default: return Fail(out error, $"unknown specifier `%{spec}`");
            }
        }
        if (p != input.Length) return Fail(out error, $"trailing input \"{input[p..]}\" after the format");
        if (timestamp is { } t)
        {
            nanos = t * NanosPerSecond + fraction;
            return true;
        }
        if (hour12 is { } h12)
        {
            if (pm is null) return Fail(out error, "%I needs %p to say AM or PM");
            if (h12 is < 1 or > 12) return Fail(out error, $"hour {h12} is not 1 to 12");
            hour = h12 % 12 + (pm.Value ? 12 : 0);
        }
        if (year is null || (dayOfYear is null && (month is null || day is null)) || hour is null || minute is null)
            return Fail(out error, "not enough to make a date and time: a datetime needs the year, month, day, hour and minute");
        try
        {
            var date = dayOfYear is { } j ? new DateTime(year.Value, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddDays(j - 1) : new DateTime(year.Value, month!.Value, day!.Value, 0, 0, 0, DateTimeKind.Utc);
            if (hour is < 0 or > 23 || minute is < 0 or > 59 || (second ?? 0) is < 0 or > 60) return Fail(out error, "the time of day is out of range");
            var seconds = (long)(date - DateTime.UnixEpoch).TotalSeconds + hour.Value * 3600L + minute.Value * 60L + Math.Min(second ?? 0, 59);
            nanos = checked((seconds - (long)(hasOffset ? offset.TotalSeconds : 0)) * NanosPerSecond + fraction);
            return true;
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or OverflowException)
        {
            return Fail(out error, "the date is out of range");
        }
    }

    private static bool Fail(out string error, string message)
    {
        error = message;
        return false;
    }

    private static bool Bad(out string error, string what, int p, string input) =>
        Fail(out error, p >= input.Length ? $"input ends where a {what} was expected" : $"expected a {what} at position {p} of \"{input}\"");

    private static bool Number(string s, ref int p, int min, int max, bool signed, out long value)
    {
        value = 0;
        var start = p;
        var negative = false;
        if (signed && p < s.Length && s[p] is '+' or '-')
        {
            negative = s[p] == '-';
            p++;
        }
        var digitsStart = p;
        while (p < s.Length && p - digitsStart < max && char.IsAsciiDigit(s[p])) value = value * 10 + (s[p++] - '0');
        if (p - digitsStart < min)
        {
            p = start;
            return false;
        }
        if (negative) value = -value;
        return true;
    }

    // Up to `max` digits of a fraction of a second, scaled to nanoseconds.
    private static bool Fraction(string s, ref int p, int max, out long nanos)
    {
        nanos = 0;
        var start = p;
        while (p < s.Length && p - start < max && char.IsAsciiDigit(s[p])) nanos = nanos * 10 + (s[p++] - '0');
        var digits = p - start;
        if (digits == 0) return false;
        for (var k = digits; k < 9; k++) nanos *= 10;
        return true;
    }

    private static int Name(string s, ref int p, string[] names)
    {
        for (var k = 0; k < names.Length; k++)
        {
            var full = names[k];
            if (string.Compare(s, p, full, 0, full.Length, StringComparison.OrdinalIgnoreCase) == 0 && p + full.Length <= s.Length)
            {
                p += full.Length;
                return k;
            }
        }
        for (var k = 0; k < names.Length; k++)
        {
            if (p + 3 <= s.Length && string.Compare(s, p, names[k], 0, 3, StringComparison.OrdinalIgnoreCase) == 0)
            {
                p += 3;
                return k;
            }
        }
        return -1;
    }

    /// <summary>An offset <c>+hh</c>, <c>+hhmm</c> or <c>+hh:mm</c> (and <c>Z</c> when allowed).</summary>
    public static bool TryParseOffset(string s, ref int p, bool allowZ, out TimeSpan offset)
    {
        offset = TimeSpan.Zero;
        if (p < s.Length && s[p] is 'Z' or 'z' && allowZ)
        {
            p++;
            return true;
        }
        if (p >= s.Length || s[p] is not ('+' or '-')) return false;
        var sign = s[p] == '-' ? -1 : 1;
        var q = p + 1;
        if (q + 2 > s.Length || !char.IsAsciiDigit(s[q]) || !char.IsAsciiDigit(s[q + 1])) return false;
        var hours = (s[q] - '0') * 10 + (s[q + 1] - '0');
        q += 2;
        var minutes = 0;
        if (q < s.Length && s[q] == ':') q++;
        if (q + 2 <= s.Length && char.IsAsciiDigit(s[q]) && char.IsAsciiDigit(s[q + 1]))
        {
            minutes = (s[q] - '0') * 10 + (s[q + 1] - '0');
            q += 2;
        }
        else if (s[q - 1] == ':') return false;
        if (hours > 23 || minutes > 59) return false;
        offset = TimeSpan.FromMinutes(sign * (hours * 60 + minutes));
        p = q;
        return true;
    }
}
