using Tremor.Actors.Configuration;
using Tremor.Actors.Connectors;
using Tremor.Pdk;

namespace Tremor.Actors.Tests;

/// <summary><c>tremor.data-dir</c>: one folder per connector, and a lock that refuses a second runtime.</summary>
public sealed class DataDirectoryTests : TremorTestKit
{
    [Fact]
    public void A_connector_gets_its_own_folder_under_the_data_dir_which_survives_its_restart()
    {
        var stateful = new StatefulSinkFactory();
        Register(stateful);
        Register(new TestSourceFactory { Total = 5 });
        Deploy(Flow("f", """
            connectors {
              src { type = test-source }
              st { type = stateful-sink }
            }
            links = ["src -> st"]
            """));
        AwaitCondition(() => stateful.Directories.Count == 1, TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(20));
        var folder = stateful.Directories.Single();
        Assert.Equal(Path.Combine(DataDir, "flows", "f", "st"), folder);
        Assert.True(File.Exists(Path.Combine(folder, "connected")), "the connector could write into its folder");
        Assert.True(File.Exists(Path.Combine(DataDir, DataDirectory.LockFileName)), "the data directory is locked while the runtime runs");
    }

    [Fact]
    public void A_second_runtime_on_the_same_data_dir_is_refused_with_the_directory_and_the_holders_pid()
    {
        var root = Path.Combine(DataDir, "shared");
        using var first = new DataDirectory(root);
        first.ForConnector("f::wal");

        using var second = new DataDirectory(root);
        var refused = Assert.Throws<InvalidOperationException>(() => second.ForConnector("g::wal"));
        Assert.Contains(root, refused.Message);
        Assert.Contains("in use by another tremor", refused.Message);
        Assert.Contains($"pid {Environment.ProcessId}", refused.Message);
        Assert.Throws<InvalidOperationException>(second.LockIfPresent);

        first.Dispose();
        Assert.Equal(Path.Combine(root, "flows", "g", "wal"), second.ForConnector("g::wal"));
    }

    [Fact]
    public void A_data_dir_that_does_not_exist_yet_is_not_created_or_locked_until_a_connector_asks()
    {
        var root = Path.Combine(DataDir, "lazy");
        using var data = new DataDirectory(root);
        data.LockIfPresent();
        Assert.False(Directory.Exists(root));
    }

    [Fact]
    public void A_data_dir_that_cannot_be_created_says_which_and_what_to_do()
    {
        var file = Path.Combine(DataDir, "a-file");
        File.WriteAllText(file, "not a directory");
        using var data = new DataDirectory(Path.Combine(file, "state"));
        var refused = Assert.Throws<InvalidOperationException>(() => data.ForConnector("f::kv"));
        Assert.Contains("tremor.data-dir", refused.Message);
        Assert.Contains(Path.Combine(file, "state"), refused.Message);
    }

    [Fact]
    public void Data_dir_is_read_from_the_config_and_an_empty_one_is_refused()
    {
        var settings = TremorConfig.ReadSettings(TremorConfig.Parse("tremor.data-dir = \"/var/lib/tremor\"", "t.conf"), "t.conf");
        Assert.Equal("/var/lib/tremor", settings.DataDir);
        Assert.Equal(TremorSettings.DefaultDataDir, TremorConfig.ReadSettings(TremorConfig.Parse("", "t.conf"), "t.conf").DataDir);
        var empty = Assert.Throws<ConfigException>(() => TremorConfig.ReadSettings(TremorConfig.Parse("tremor.data-dir = \"\"", "t.conf"), "t.conf"));
        Assert.Contains("data-dir", empty.Path);
    }

    private sealed class StatefulSinkFactory : IConnectorFactory
    {
        public readonly System.Collections.Concurrent.ConcurrentBag<string> Directories = [];

        public string Type => "stateful-sink";

        public string Description => "writes a marker into its state directory";

        public ConnectorKinds Kinds => ConnectorKinds.Sink;

        public string? DefaultCodec => "json";

        public IConnector Create(ConnectorContext context) => new Sink(this, context.Host);

        private sealed class Sink(StatefulSinkFactory factory, IPluginHost host) : ConnectorBase, ISink
        {
            public override ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken)
            {
                var folder = host.StateDirectory;
                File.WriteAllText(Path.Combine(folder, "connected"), attempt.ToString(System.Globalization.CultureInfo.InvariantCulture));
                factory.Directories.Add(folder);
                return ValueTask.FromResult(true);
            }

            public ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken) => ValueTask.FromResult(SinkReply.Acked);

            public ValueTask OnEndAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
        }
    }
}
