using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Tremor.Tests;

namespace Tremor.Cli.Tests;

/// <summary>
/// A connector written on Tremor.Pdk.Streams (<c>tcp_reader</c>) in a real run: loaded as a plugin that shares Akka and
/// the streams surface with the runtime, materialised on the runtime's materializer, pulled with its credits.
/// </summary>
public sealed class StreamConnectorTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("tremor-cli-streams-");

    public void Dispose() => _temp.Delete(recursive: true);

    [Fact]
    public async Task Tcp_reader_delivers_the_lines_of_a_server_that_hangs_up_and_is_reached_again_and_drains_on_sigterm()
    {
        var port = StablePort.Pick();
        var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start();
        try
        {
            var file = Path.Combine(_temp.FullName, "lines.conf");
            await File.WriteAllTextAsync(file, $$"""
                tremor.flows.lines {
                  connectors {
                    reader { type = tcp_reader, config { port = {{port}}, min-backoff = 50ms, max-backoff = 200ms } }
                    console { type = stdio, codec = json, postprocessors = ["separate"] }
                  }
                  pipelines { main { type = passthrough } }
                  links = ["reader -> main", "main -> console"]
                }
                """);
            await using var tremor = TremorProcess.Start(["run", file]);

            using (var first = await listener.AcceptTcpClientAsync().WaitAsync(TremorProcess.DefaultTimeout))
            {
                await first.GetStream().WriteAsync("{\"n\":1}\n{\"n\":2}\n"u8.ToArray());
            }
            using (var second = await listener.AcceptTcpClientAsync().WaitAsync(TremorProcess.DefaultTimeout))
            {
                await second.GetStream().WriteAsync("{\"n\":3}\n"u8.ToArray());
                await tremor.StdoutLines(3).WaitAsync(TremorProcess.DefaultTimeout);
            }
            tremor.Terminate();
            var result = await tremor.WaitAsync(TremorProcess.DefaultTimeout);

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal([1L, 2L, 3L], result.StdoutLines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("n").GetInt64()));
            Assert.Equal("every accepted event was delivered (3 from sources, 3 delivered by sinks)", result.StderrLines[^1]);
        }
        finally
        {
            listener.Stop();
        }
    }
}
