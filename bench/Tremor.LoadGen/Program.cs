using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Sockets;
using HdrHistogram;

// A load generator for the network benchmarks (bench/net): JSON lines over TCP connections as fast as the peer
// takes them, or HTTP POSTs with a fixed number of requests in flight. Prints one `LOADGEN {json}` line.
//
//   tremor-loadgen tcp  HOST PORT FILE --connections 4 --repeat 2000
//   tremor-loadgen http URL FILE --concurrency 32 --seconds 10
//   tremor-loadgen http-echo PORT [--hop]   (the bound: Kestrel alone, answering as bench/net's flow does; --hop:
//                                            behind one hand-off to a task of its own)
return args switch
{
    ["http-echo", var port, .. var rest] => await HttpEcho.RunAsync(int.Parse(port, CultureInfo.InvariantCulture), rest.Contains("--hop")),
    ["tcp", var host, var port, var file, .. var rest] => await Tcp(host, int.Parse(port, CultureInfo.InvariantCulture), file, Option(rest, "--connections", 4), Option(rest, "--repeat", 1000)),
    ["http", var url, var file, .. var rest] => await Http(new Uri(url), file, Option(rest, "--concurrency", 32), Option(rest, "--seconds", 10)),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: tremor-loadgen tcp HOST PORT FILE [--connections N] [--repeat N] | http URL FILE [--concurrency N] [--seconds N] | http-echo PORT [--hop]");
    return 2;
}

static int Option(string[] rest, string name, int fallback)
{
    var i = Array.IndexOf(rest, name);
    return i >= 0 && i + 1 < rest.Length ? int.Parse(rest[i + 1], CultureInfo.InvariantCulture) : fallback;
}

// Each connection writes the whole file (newline-terminated JSON lines) `repeat` times, in 64 KiB writes.
static async Task<int> Tcp(string host, int port, string file, int connections, int repeat)
{
    var data = await File.ReadAllBytesAsync(file);
    if (data.Length == 0 || data[^1] != (byte)'\n') data = [.. data, (byte)'\n'];
    var lines = data.Count(b => b == (byte)'\n');
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, connections).Select(async _ =>
    {
        using var client = new TcpClient { NoDelay = false, SendBufferSize = 1 << 20 };
        await client.ConnectAsync(host, port);
        var stream = client.GetStream();
        for (var r = 0; r < repeat; r++)
        {
            for (var offset = 0; offset < data.Length; offset += 65536)
            {
                await stream.WriteAsync(data.AsMemory(offset, Math.Min(65536, data.Length - offset)));
            }
        }
        client.Client.Shutdown(SocketShutdown.Send);
    }));
    var seconds = clock.Elapsed.TotalSeconds;
    var bytes = (long)data.Length * repeat * connections;
    Console.WriteLine(FormattableString.Invariant(
        $"LOADGEN {{\"mode\":\"tcp\",\"connections\":{connections},\"bytes\":{bytes},\"events\":{(long)lines * repeat * connections},\"seconds\":{seconds:F3},\"mb_per_s\":{bytes / 1e6 / seconds:F1}}}"));
    return 0;
}

// `concurrency` workers each POST the file's lines in turn for `seconds`; latency per request in an HDR histogram.
static async Task<int> Http(Uri url, string file, int concurrency, int seconds)
{
    var lines = (await File.ReadAllLinesAsync(file)).Where(l => l.Length > 0).Select(System.Text.Encoding.UTF8.GetBytes).ToArray();
    using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency }) { Timeout = TimeSpan.FromSeconds(30) };
    var histogram = new LongConcurrentHistogram(1, TimeStamp.Seconds(60), 3);
    long ok = 0, other = 0, failed = 0;
    var deadline = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async w =>
    {
        var i = w;
        while (deadline.Elapsed.TotalSeconds < seconds)
        {
            var body = new ByteArrayContent(lines[i++ % lines.Length]);
            body.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            var start = Stopwatch.GetTimestamp();
            try
            {
                using var response = await client.PostAsync(url, body);
                await response.Content.ReadAsByteArrayAsync();
                histogram.RecordValue(Stopwatch.GetTimestamp() - start);
                if (response.IsSuccessStatusCode) Interlocked.Increment(ref ok);
                else Interlocked.Increment(ref other);
            }
            catch (HttpRequestException)
            {
                Interlocked.Increment(ref failed);
            }
        }
    }));
    var elapsed = deadline.Elapsed.TotalSeconds;
    double Micros(double percentile) => histogram.GetValueAtPercentile(percentile) * 1e6 / Stopwatch.Frequency;
    Console.WriteLine(FormattableString.Invariant(
        $"LOADGEN {{\"mode\":\"http\",\"concurrency\":{concurrency},\"ok\":{ok},\"non_2xx\":{other},\"failed\":{failed},\"seconds\":{elapsed:F3},\"requests_per_s\":{ok / elapsed:F1},\"p50_us\":{Micros(50):F0},\"p99_us\":{Micros(99):F0}}}"));
    return failed > 0 || other > 0 ? 1 : 0;
}
