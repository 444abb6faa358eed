using System.Diagnostics;
using System.Runtime.InteropServices;
using Npgsql;

namespace Tremor.Connectors.Postgres.Tests;

/// <summary>
/// Debian's PostgreSQL 15 as a plain process (never the system service): a cluster made by initdb in the server's temp
/// dir (user <c>tremor</c>, password <c>secret</c>; TCP connections must give it), listening on a free loopback port,
/// its socket in the temp dir. PostgreSQL refuses to run as root: as root, initdb and the server run as nobody (through
/// setpriv, so the process the test stops is the server itself) in a dir handed over to nobody. Stopped with SIGINT
/// (a fast shutdown: clients are disconnected, the data is checkpointed), so a start on the same port has the tables.
/// </summary>
public sealed class PostgresServer : ServerFixture
{
    public const string User = "tremor";
    public const string Password = "secret";
    private const uint Nobody = 65534;
    private static readonly string Bin = "/usr/lib/postgresql/15/bin";

    private readonly string _postgres;
    private readonly string _initdb;

    public PostgresServer()
    {
        _postgres = ServerProcess.Find("postgres", "postgresql-15", $"{Bin}/postgres");
        _initdb = ServerProcess.Find("initdb", "postgresql-15", $"{Bin}/initdb");
        // The port accepts before the cluster takes queries (startup recovery): ready once a query is answered.
        Server = IsRoot
            ? new ServerProcess("/usr/bin/setpriv", s => [.. AsNobody, _postgres, .. Arguments(s)]) { StopSignal = 2, ReadyWhen = AnswersAsync }
            : new ServerProcess(_postgres, Arguments) { StopSignal = 2, ReadyWhen = AnswersAsync };
    }

    internal override ServerProcess Server { get; }

    public string Url => $"postgres://127.0.0.1:{Server.Port}/postgres";

    /// <summary>For the test's own queries (what the sink wrote, rows for the source, NOTIFY).</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Server.Port};Username={User};Password={Password};Database=postgres;Pooling=false";

    private static bool IsRoot => Geteuid() == 0;

    private static string[] AsNobody => ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"];

    private string DataDir => Server.Dir.File("data");

    private IEnumerable<string> Arguments(ServerProcess server) =>
        ["-D", DataDir, "-p", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-k", server.Dir.Path,
         "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"];

    public override async Task InitializeAsync()
    {
        var pwfile = Server.Dir.File("pwfile");
        await File.WriteAllTextAsync(pwfile, Password + "\n");
        if (IsRoot)
        {
            Assert.Equal(0, Chown(Server.Dir.Path, Nobody, Nobody));
            Assert.Equal(0, Chown(pwfile, Nobody, Nobody));
        }
        string[] initdb = ["-D", DataDir, "-U", User, "--pwfile", pwfile, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"];
        var info = IsRoot ? new ProcessStartInfo("/usr/bin/setpriv") : new ProcessStartInfo(_initdb);
        if (IsRoot)
        {
            foreach (var a in AsNobody) info.ArgumentList.Add(a);
            info.ArgumentList.Add(_initdb);
        }
        foreach (var a in initdb) info.ArgumentList.Add(a);
        info.WorkingDirectory = Server.Dir.Path;
        await ServerProcess.RunAsync(info);
        await Server.StartAsync();
    }

    private async Task<bool> AnswersAsync()
    {
        try
        {
            await ExecuteAsync("SELECT 1");
            return true;
        }
        catch (NpgsqlException)
        {
            return false;
        }
    }

    /// <summary>Runs a statement as the test's own client.</summary>
    public async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Reads rows as the test's own client, each as its columns' values.</summary>
    public async Task<List<object?[]>> QueryAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<object?[]>();
        while (await reader.ReadAsync())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++) row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            rows.Add(row);
        }
        return rows;
    }

    [DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint Geteuid();

    [DllImport("libc", EntryPoint = "chown", SetLastError = true)]
    private static extern int Chown(string path, uint owner, uint group);
}
