namespace Tremor.Connectors.Redis.Tests;

/// <summary>
/// The helper every broker test starts its server with (tests/Shared): a server that does not come up is one error
/// naming it, its command and the last lines it printed, and it does not stay running.
/// </summary>
public sealed class ServerProcessTests
{
    [Fact]
    public async Task A_server_that_exits_at_start_fails_naming_its_command_and_the_tail_of_its_log()
    {
        await using var server = new ServerProcess("/bin/sh", _ => ["-c", "for i in $(seq 1 30); do echo line $i; done; echo 'bad setting on line 7' >&2; exit 3"]);

        var e = await Assert.ThrowsAnyAsync<Exception>(server.StartAsync);

        Assert.Contains("sh exited with 3 at start: /bin/sh -c 'for i in", e.Message, StringComparison.Ordinal);
        Assert.Contains("bad setting on line 7", e.Message, StringComparison.Ordinal);
        Assert.Contains("line 30", e.Message, StringComparison.Ordinal);
        // The tail, not the whole log.
        Assert.DoesNotContain($"line 1{Environment.NewLine}", e.Message, StringComparison.Ordinal);
        Assert.False(server.IsRunning);
    }

    [Fact]
    public async Task A_server_that_never_accepts_connections_fails_at_its_start_timeout_and_is_stopped()
    {
        await using var server = new ServerProcess("/bin/sh", _ => ["-c", "echo 'waiting for a license'; exec sleep 60"]) { StartTimeout = TimeSpan.FromSeconds(1) };

        var e = await Assert.ThrowsAnyAsync<Exception>(server.StartAsync);

        Assert.Contains($"sh was not up within 1s (accepting on 127.0.0.1:{server.Port})", e.Message, StringComparison.Ordinal);
        Assert.Contains("waiting for a license", e.Message, StringComparison.Ordinal);
        Assert.False(server.IsRunning);
    }
}
