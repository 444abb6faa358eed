using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Tremor.Pdk;

namespace Tremor.Script.Compilation;

/// <summary>
/// The grok extractor: <c>%{PATTERN:field[:int|float]}</c> expanded from a default pattern set (the core of
/// Logstash's <c>grok-patterns</c>, which Tremor ships) into one compiled regular expression.
/// </summary>
internal static partial class Grok
{
    // Order matters only for readability; references are resolved by name.
    internal static readonly Dictionary<string, string> Patterns = new(StringComparer.Ordinal)
    {
        ["USERNAME"] = @"[a-zA-Z0-9._-]+",
        ["USER"] = @"%{USERNAME}",
        ["EMAILLOCALPART"] = @"[a-zA-Z][a-zA-Z0-9_.+-=:]+",
        ["EMAILADDRESS"] = @"%{EMAILLOCALPART}@%{HOSTNAME}",
        ["INT"] = @"(?:[+-]?(?:[0-9]+))",
        ["BASE10NUM"] = @"(?<![0-9.+-])(?>[+-]?(?:(?:[0-9]+(?:\.[0-9]+)?)|(?:\.[0-9]+)))",
        ["NUMBER"] = @"(?:%{BASE10NUM})",
        ["BASE16NUM"] = @"(?<![0-9A-Fa-f])(?:[+-]?(?:0x)?(?:[0-9A-Fa-f]+))",
        ["POSINT"] = @"\b(?:[1-9][0-9]*)\b",
        ["NONNEGINT"] = @"\b(?:[0-9]+)\b",
        ["WORD"] = @"\b\w+\b",
        ["NOTSPACE"] = @"\S+",
        ["SPACE"] = @"\s*",
        ["DATA"] = @".*?",
        ["GREEDYDATA"] = @".*",
        ["QUOTEDSTRING"] = "(?>(?<!\\\\)(?>\"(?>\\\\.|[^\\\\\"]+)+\"|\"\"|(?>'(?>\\\\.|[^\\\\']+)+')|''|(?>`(?>\\\\.|[^\\\\`]+)+`)|``))",
        ["QS"] = @"%{QUOTEDSTRING}",
        ["UUID"] = @"[A-Fa-f0-9]{8}-(?:[A-Fa-f0-9]{4}-){3}[A-Fa-f0-9]{12}",
        ["MAC"] = @"(?:%{CISCOMAC}|%{WINDOWSMAC}|%{COMMONMAC})",
        ["CISCOMAC"] = @"(?:(?:[A-Fa-f0-9]{4}\.){2}[A-Fa-f0-9]{4})",
        ["WINDOWSMAC"] = @"(?:(?:[A-Fa-f0-9]{2}-){5}[A-Fa-f0-9]{2})",
        ["COMMONMAC"] = @"(?:(?:[A-Fa-f0-9]{2}:){5}[A-Fa-f0-9]{2})",
        ["IPV6"] = @"(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){1,7}:|(?:[0-9A-Fa-f]{1,4}:){1,6}:[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){1,5}(?::[0-9A-Fa-f]{1,4}){1,2}|(?:[0-9A-Fa-f]{1,4}:){1,4}(?::[0-9A-Fa-f]{1,4}){1,3}|(?:[0-9A-Fa-f]{1,4}:){1,3}(?::[0-9A-Fa-f]{1,4}){1,4}|(?:[0-9A-Fa-f]{1,4}:){1,2}(?::[0-9A-Fa-f]{1,4}){1,5}|[0-9A-Fa-f]{1,4}:(?::[0-9A-Fa-f]{1,4}){1,6}|:(?:(?::[0-9A-Fa-f]{1,4}){1,7}|:))",
        ["IPV4"] = @"(?<![0-9])(?:(?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5])[.](?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5])[.](?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5])[.](?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]))(?![0-9])",
        ["IP"] = @"(?:%{IPV6}|%{IPV4})",
        ["HOSTNAME"] = @"\b(?:[0-9A-Za-z][0-9A-Za-z-]{0,62})(?:\.(?:[0-9A-Za-z][0-9A-Za-z-]{0,62}))*(?:\.?|\b)",
        ["HOST"] = @"%{HOSTNAME}",
        ["IPORHOST"] = @"(?:%{IP}|%{HOSTNAME})",
        ["HOSTPORT"] = @"%{IPORHOST}:%{POSINT}",
        ["PATH"] = @"(?:%{UNIXPATH}|%{WINPATH})",
        ["UNIXPATH"] = @"(/[\w_%!$@:.,+~-]*)+",
        ["WINPATH"] = @"(?>[A-Za-z]+:|\\)(?:\\[^\\?*]*)+",
        ["URIPROTO"] = @"[A-Za-z]([A-Za-z0-9+\-.]+)+",
        ["URIHOST"] = @"%{IPORHOST}(?::%{POSINT})?",
        ["URIPATH"] = @"(?:/[A-Za-z0-9$.+!*'(){},~:;=@#%&_\-]*)+",
        ["URIPARAM"] = @"\?[A-Za-z0-9$.+!*'|(){},~@#%&/=:;_?\-\[\]<>]*",
        ["URIPATHPARAM"] = @"%{URIPATH}(?:%{URIPARAM})?",
        ["URI"] = @"%{URIPROTO}://(?:%{USER}(?::[^@]*)?@)?(?:%{URIHOST})?(?:%{URIPATHPARAM})?",
        ["MONTH"] = @"\b(?:[Jj]an(?:uary|uar)?|[Ff]eb(?:ruary|ruar)?|[Mm](?:a|ä)?r(?:ch|z)?|[Aa]pr(?:il)?|[Mm]a(?:y|i)?|[Jj]un(?:e|i)?|[Jj]ul(?:y|i)?|[Aa]ug(?:ust)?|[Ss]ep(?:tember)?|[Oo](?:c|k)?t(?:ober)?|[Nn]ov(?:ember)?|[Dd]e(?:c|z)(?:ember)?)\b",
        ["MONTHNUM"] = @"(?:0?[1-9]|1[0-2])",
        ["MONTHDAY"] = @"(?:(?:0[1-9])|(?:[12][0-9])|(?:3[01])|[1-9])",
        ["DAY"] = @"(?:Mon(?:day)?|Tue(?:sday)?|Wed(?:nesday)?|Thu(?:rsday)?|Fri(?:day)?|Sat(?:urday)?|Sun(?:day)?)",
        ["YEAR"] = @"(?>\d\d){1,2}",
        ["HOUR"] = @"(?:2[0123]|[01]?[0-9])",
        ["MINUTE"] = @"(?:[0-5][0-9])",
        ["SECOND"] = @"(?:(?:[0-5]?[0-9]|60)(?:[:.,][0-9]+)?)",
        ["TIME"] = @"(?!<[0-9])%{HOUR}:%{MINUTE}(?::%{SECOND})(?![0-9])",
        ["DATE_US"] = @"%{MONTHNUM}[/-]%{MONTHDAY}[/-]%{YEAR}",
        ["DATE_EU"] = @"%{MONTHDAY}[./-]%{MONTHNUM}[./-]%{YEAR}",
        ["ISO8601_TIMEZONE"] = @"(?:Z|[+-]%{HOUR}(?::?%{MINUTE}))",
        ["ISO8601_SECOND"] = @"(?:%{SECOND}|60)",
        ["TIMESTAMP_ISO8601"] = @"%{YEAR}-%{MONTHNUM}-%{MONTHDAY}[T ]%{HOUR}:?%{MINUTE}(?::?%{SECOND})?%{ISO8601_TIMEZONE}?",
        ["DATE"] = @"%{DATE_US}|%{DATE_EU}",
        ["DATESTAMP"] = @"%{DATE}[- ]%{TIME}",
        ["TZ"] = @"(?:[APMCE][SD]T|UTC)",
        ["HTTPDATE"] = @"%{MONTHDAY}/%{MONTH}/%{YEAR}:%{TIME} %{INT}",
        ["SYSLOGTIMESTAMP"] = @"%{MONTH} +%{MONTHDAY} %{TIME}",
        ["PROG"] = @"[\x21-\x5a\x5c\x5e-\x7e]+",
        ["SYSLOGPROG"] = @"%{PROG:program}(?:\[%{POSINT:pid}\])?",
        ["SYSLOGHOST"] = @"%{IPORHOST}",
        ["SYSLOGFACILITY"] = @"<%{NONNEGINT:facility}.%{NONNEGINT:priority}>",
        ["SYSLOGBASE"] = @"%{SYSLOGTIMESTAMP:timestamp} (?:%{SYSLOGFACILITY} )?%{SYSLOGHOST:logsource} %{SYSLOGPROG}:",
        ["COMMONAPACHELOG"] = @"%{IPORHOST:clientip} %{USER:ident} %{USER:auth} \[%{HTTPDATE:timestamp}\] ""(?:%{WORD:verb} %{NOTSPACE:request}(?: HTTP/%{NUMBER:httpversion})?|%{DATA:rawrequest})"" %{NUMBER:response} (?:%{NUMBER:bytes}|-)",
        ["COMBINEDAPACHELOG"] = @"%{COMMONAPACHELOG} %{QS:referrer} %{QS:agent}",
        ["LOGLEVEL"] = @"([Aa]lert|ALERT|[Tt]race|TRACE|[Dd]ebug|DEBUG|[Nn]otice|NOTICE|[Ii]nfo|INFO|[Ww]arn?(?:ing)?|WARN?(?:ING)?|[Ee]rr?(?:or)?|ERR?(?:OR)?|[Cc]rit?(?:ical)?|CRIT?(?:ICAL)?|[Ff]atal|FATAL|[Ss]evere|SEVERE|EMERG(?:ENCY)?|[Ee]merg(?:ency)?)",
    };

    [GeneratedRegex(@"%\{(?<name>[A-Za-z0-9_]+)(?::(?<field>[^:}]+)(?::(?<type>[a-z]+))?)?\}")]
    private static partial Regex Reference();

    private sealed record Capture(string Group, string Field, string? Type);

    public static Extractor Compile(string rule)
    {
        var captures = new List<Capture>();
        var regex = new Regex(Expand(rule, captures, 0), RegexOptions.CultureInvariant);
        var fields = captures.ToArray();
        return (Value v, bool need, out Value r) =>
        {
            r = Value.True;
            if (v.AsString() is not { } s) return false;
            var m = regex.Match(s);
            if (!m.Success) return false;
            if (!need) return true;
            var record = new ValueRecord(fields.Length);
            foreach (var f in fields)
            {
                var g = m.Groups[f.Group];
                if (!g.Success) continue;
                record.Set(f.Field, f.Type switch
                {
                    "int" when long.TryParse(g.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i) => Value.From(i),
                    "float" when double.TryParse(g.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => Value.From(d),
                    _ => Value.From(g.Value),
                });
            }
            r = Value.From(record);
            return true;
        };
    }

    private static string Expand(string pattern, List<Capture> captures, int depth)
    {
        if (depth > 32) throw new ArgumentException("grok patterns refer to each other too deeply (a cycle?)");
        var sb = new StringBuilder();
        var last = 0;
        foreach (Match m in Reference().Matches(pattern))
        {
            sb.Append(pattern, last, m.Index - last);
            last = m.Index + m.Length;
            var name = m.Groups["name"].Value;
            if (!Patterns.TryGetValue(name, out var body)) throw new ArgumentException($"unknown grok pattern `{name}`");
            var inner = Expand(body, captures, depth + 1);
            if (m.Groups["field"].Success)
            {
                var type = m.Groups["type"].Success ? m.Groups["type"].Value : null;
                if (type is not (null or "int" or "float")) throw new ArgumentException($"unknown grok type `{type}` (int or float)");
                // Field names may hold characters a .NET group name cannot: capture under a generated name.
                var group = "g" + captures.Count.ToString(CultureInfo.InvariantCulture);
                captures.Add(new Capture(group, m.Groups["field"].Value, type));
                sb.Append("(?<").Append(group).Append('>').Append(inner).Append(')');
            }
            else sb.Append("(?:").Append(inner).Append(')');
        }
        sb.Append(pattern, last, pattern.Length - last);
        return sb.ToString();
    }
}
