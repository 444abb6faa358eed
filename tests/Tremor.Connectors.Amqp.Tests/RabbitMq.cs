using System.Diagnostics;

namespace Tremor.Connectors.Amqp.Tests;

/// <summary>
/// Debian's rabbitmq-server as a plain process (never the system service): a node of its own name on a free loopback
/// port, its database, logs, config, plugins file and Erlang cookie (HOME) in the server's temp dir. Stopped with
/// SIGTERM, which the start script turns into a clean shutdown of the node, so durable queues and persistent messages
/// are there again after a start on the same port. Erlang's port mapper (epmd) may stay running: it is shared.
/// </summary>
public sealed class RabbitMq : ServerFixture
{
    public RabbitMq()
    {
        var binary = ServerProcess.Find("rabbitmq-server", "rabbitmq-server", "/usr/lib/rabbitmq/bin/rabbitmq-server");
        DistributionPort = ServerProcess.FreePort();
        // An Erlang node boots in seconds, slower on a loaded machine; the first boot also creates its database.
        Server = new ServerProcess(binary, _ => []) { Configure = Environment, StartTimeout = TimeSpan.FromMinutes(3) };
    }

    internal override ServerProcess Server { get; }

    private int DistributionPort { get; }

    public string Url => $"amqp://127.0.0.1:{Server.Port}";

    private void Environment(ProcessStartInfo info)
    {
        var dir = Server.Dir;
        File.WriteAllText(dir.File("rabbitmq.conf"), "log.file = false\nlog.console = true\nlog.console.level = warning\n");
        File.WriteAllText(dir.File("enabled_plugins"), "[].\n");
        File.WriteAllText(dir.File("rabbitmq-env.conf"), "");
        var env = info.Environment;
        env["HOME"] = dir.Path;
        env["RABBITMQ_NODENAME"] = $"rabbit-{Server.Port}@localhost";
        env["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1";
        env["RABBITMQ_NODE_PORT"] = Server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        env["RABBITMQ_DIST_PORT"] = DistributionPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        env["RABBITMQ_MNESIA_BASE"] = dir.File("mnesia");
        env["RABBITMQ_LOG_BASE"] = dir.File("log");
        env["RABBITMQ_CONFIG_FILE"] = dir.File("rabbitmq.conf");
        env["RABBITMQ_ENABLED_PLUGINS_FILE"] = dir.File("enabled_plugins");
        env["RABBITMQ_CONF_ENV_FILE"] = dir.File("rabbitmq-env.conf");
        // Not the interactive shell nor systemd: the start script traps SIGTERM and stops the node cleanly.
        env.Remove("RABBITMQ_ALLOW_INPUT");
        env.Remove("NOTIFY_SOCKET");
    }
}
