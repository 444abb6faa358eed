using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using Npgsql;
using NpgsqlTypes;
using Tremor.Pdk;

namespace Tremor.Connectors.Postgres;

/// <summary>
/// <c>postgres</c>: PostgreSQL through Npgsql. The sink writes each batch in one transaction — binary COPY into the
/// table, or COPY into a temporary table and <c>INSERT ... ON CONFLICT DO UPDATE</c> for an upsert — and acks it once
/// the commit returned. The source polls a query with the last acknowledged value of a cursor column as <c>$1</c>
/// (the cursor advances only over rows acked downstream, in order, and is saved in the state directory for the next
/// run) and LISTENs on channels (a NOTIFY's payload goes
/// through the codec). A lost server is reported through <see cref="IPluginHost.ConnectionLost"/>.
/// </summary>
internal sealed class PostgresConnector : ConnectorBase, ISource, ISink
{
    /// <summary>Notifications waiting for a pull: NOTIFY cannot be pushed back, so beyond this they are dropped (and counted).</summary>
    internal const int NotificationCapacity = 4096;

    private const ulong RowStream = 0;
    private const ulong NotificationStream = 1;

    private readonly IPluginHost _host;
    private readonly PostgresOptions _options;
    private readonly ConnectionLoss _loss;
    private readonly string _connectionString;
    private readonly Channel<(byte[] Payload, Value Meta)> _notifications = Channel.CreateBounded<(byte[], Value)>(new BoundedChannelOptions(NotificationCapacity)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
    });
    private readonly CancellationTokenSource _stop = new();
    private readonly Queue<Row> _rows = new();
    private readonly PostgresCursor _cursor;
    private NpgsqlConnection? _sinkConnection;
    private NpgsqlConnection? _queryConnection;
    private NpgsqlConnection? _listenConnection;
    private CancellationTokenSource? _listenStop;
    private Task? _listening;
    private List<TableColumn>? _columns;
    private long _nextPollTicks;
    private long _droppedNotifications;
    private string? _statePath;
    private bool _stateLoaded;

    public PostgresConnector(IPluginHost host, PostgresOptions options)
    {
        _host = host;
        _loss = new ConnectionLoss(host);
        _options = options;
        _cursor = new PostgresCursor(options.Source?.Start ?? default);
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = options.Host,
            Port = options.Port,
            Database = options.Database,
            Username = options.Username,
            Password = options.Password,
            Timeout = Math.Max(1, (int)options.ConnectTimeout.TotalSeconds),
            ApplicationName = host.Alias,
            SslMode = options.Tls ? SslMode.VerifyFull : SslMode.Disable,
            // One connection per use, held while connected: the runtime reconnects, no pool hides a dead server.
            Pooling = false,
        };
        _connectionString = builder.ConnectionString;
    }

    public bool IsTransactional => _options.Source?.Query is not null;

    /// <summary>The cursor value the next run would start after (for tests and status): only acked rows move it.</summary>
    internal Value Committed => _cursor.CommittedValue;

    public override async ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken)
    {
        if (_loss.IsStopped) return false;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        try
        {
            if (_options.Sink is { } sink && !IsOpen(_sinkConnection))
            {
                await CloseAsync(_sinkConnection).ConfigureAwait(false);
                _sinkConnection = await OpenAsync(linked.Token).ConfigureAwait(false);
                _columns = await LoadColumnsAsync(_sinkConnection, sink, linked.Token).ConfigureAwait(false);
                if (_columns is null) return false;
            }
            if (_options.Source is { Query: not null } && !_stateLoaded && !LoadCursor()) return false;
            if (_options.Source is { Query: not null } && !IsOpen(_queryConnection))
            {
                await CloseAsync(_queryConnection).ConfigureAwait(false);
                _queryConnection = await OpenAsync(linked.Token).ConfigureAwait(false);
            }
            if (_options.Source is { Channels.Count: > 0 } source && (!IsOpen(_listenConnection) || _listening is { IsCompleted: true }))
            {
                await StopListeningAsync().ConfigureAwait(false);
                _listenConnection = await OpenAsync(linked.Token).ConfigureAwait(false);
                await ListenAsync(_listenConnection, source, linked.Token).ConfigureAwait(false);
            }
        }
        catch (PostgresException e) when (e.SqlState is not ("57P03" or "57P01"))
        {
            _host.Log(PluginLogLevel.Error, $"postgres: {_options.Where} refused the connection: {e.MessageText} ({e.SqlState}): {Hint(e.SqlState)}");
            return false;
        }
        catch (Exception e) when (e is NpgsqlException or SocketException or IOException or TimeoutException or OperationCanceledException)
        {
            if (_stop.IsCancellationRequested || cancellationToken.IsCancellationRequested) throw new OperationCanceledException(cancellationToken);
            _host.Log(PluginLogLevel.Warning, $"postgres: connecting to {_options.Where} failed (attempt {attempt}): {Innermost(e)} (is the server running and the url right?)");
            return false;
        }
        _loss.Connected();
        _host.Log(PluginLogLevel.Info, $"postgres: connected to {_options.Where} as '{_options.Username}'");
        return true;
    }

    /// <summary>
    /// Where the last run's cursor is kept (the runtime's state directory for this connector): a new run starts after
    /// the value it committed, unless the query or cursor column changed. False when the directory cannot be used.
    /// </summary>
    private bool LoadCursor()
    {
        var source = _options.Source!;
        try
        {
            _statePath = Path.Combine(_host.StateDirectory, "cursor.json");
        }
        catch (NotSupportedException)
        {
            _stateLoaded = true;
            _host.Log(PluginLogLevel.Info, "postgres: this runtime keeps no state directory: the cursor is kept in memory and a new run starts from source.start");
            return true;
        }
        catch (InvalidOperationException e)
        {
            _host.Log(PluginLogLevel.Error, $"postgres: the cursor cannot be kept: {e.Message}");
            return false;
        }
        _stateLoaded = true;
        if (!File.Exists(_statePath)) return true;
        try
        {
            var saved = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(_statePath));
            if (saved is null || !saved.TryGetValue("cursor", out var value) || saved.GetValueOrDefault("query") != source.Query || saved.GetValueOrDefault("column") != source.Cursor)
            {
                _host.Log(PluginLogLevel.Warning, $"postgres: the saved cursor in {_statePath} is for another query or column: starting from source.start");
                return true;
            }
            _cursor.Restore(value);
            _host.Log(PluginLogLevel.Info, $"postgres: resuming after {source.Cursor} = {value}, where the last run's acknowledged rows ended");
        }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException or UnauthorizedAccessException)
        {
            _host.Log(PluginLogLevel.Warning, $"postgres: the saved cursor in {_statePath} cannot be read ({e.Message}): starting from source.start");
        }
        return true;
    }

    /// <summary>Saves the committed cursor when it moved (before each poll and at stop), replacing the file atomically.</summary>
    private void SaveCursor()
    {
        if (_statePath is null || _cursor.Saved(out var changed) is not { } value || !changed) return;
        try
        {
            var json = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string>
            {
                ["column"] = _options.Source!.Cursor!,
                ["cursor"] = value,
                ["query"] = _options.Source.Query!,
            });
            var temp = _statePath + ".tmp";
            File.WriteAllText(temp, json);
            File.Move(temp, _statePath, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _host.Log(PluginLogLevel.Warning, $"postgres: the cursor could not be saved to {_statePath} ({e.Message}); a new run reads again from the last saved value");
        }
    }

    private string Hint(string sqlState) => sqlState switch
    {
        "28P01" or "28000" => $"check username and password (user '{_options.Username}') and the server's pg_hba.conf",
        "3D000" => $"the database '{_options.Database}' does not exist: create it or fix the url",
        "42P01" => "create the table, or fix sink.table",
        "42501" => "grant the user the privileges it needs",
        _ => "check the connector's settings against the server",
    };

    private static bool IsOpen(NpgsqlConnection? connection) => connection is { FullState: System.Data.ConnectionState.Open };

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task<List<TableColumn>?> LoadColumnsAsync(NpgsqlConnection connection, PostgresSinkOptions sink, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid " +
            "WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = sink.Table });
        var table = new List<(string Name, string Type)>();
        try
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) table.Add((reader.GetString(0), reader.GetString(1)));
        }
        catch (PostgresException e) when (e.SqlState is "42P01" or "3F000")
        {
            _host.Log(PluginLogLevel.Error, $"postgres: the table '{sink.Table}' does not exist in {_options.Where}: create it, or fix sink.table");
            return null;
        }
        var columns = new List<TableColumn>();
        var mapped = sink.Columns ?? table.Select(c => (c.Name, new[] { c.Name })).ToList();
        foreach (var (column, field) in mapped)
        {
            var found = table.FindIndex(c => c.Name == column);
            if (found < 0)
            {
                _host.Log(PluginLogLevel.Error, $"postgres: sink.columns names '{column}', which the table '{sink.Table}' does not have (it has {string.Join(", ", table.Select(c => c.Name))})");
                return null;
            }
            var typeName = table[found].Type;
            var writable = PostgresValues.Writable.TryGetValue(typeName, out var type);
            if (!writable && sink.Columns is not null)
            {
                _host.Log(PluginLogLevel.Error, $"postgres: the column '{column}' of '{sink.Table}' has type {typeName}, which the sink cannot write (it writes {string.Join(", ", PostgresValues.Writable.Keys)})");
                return null;
            }
            columns.Add(new TableColumn(column, field, writable ? type : null, typeName));
        }
        foreach (var key in sink.OnConflict)
        {
            if (!columns.Exists(c => c.Name == key))
            {
                _host.Log(PluginLogLevel.Error, $"postgres: sink.on-conflict names '{key}', which the table '{sink.Table}' does not have");
                return null;
            }
        }
        return columns;
    }

    private async Task ListenAsync(NpgsqlConnection connection, PostgresSourceOptions source, CancellationToken cancellationToken)
    {
        connection.Notification += (_, e) =>
        {
            var inner = new ValueRecord(2);
            inner.Append("channel", e.Channel);
            inner.Append("pid", e.PID);
            var meta = new ValueRecord(1);
            meta.Append("postgres", Value.From(inner));
            if (!_notifications.Writer.TryWrite((Encoding.UTF8.GetBytes(e.Payload), Value.From(meta)))) Interlocked.Increment(ref _droppedNotifications);
        };
        foreach (var channel in source.Channels)
        {
            await using var listen = new NpgsqlCommand($"LISTEN {QuoteIdentifier(channel)}", connection);
            await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        _listenStop = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var token = _listenStop.Token;
        _listening = Task.Run(async () =>
        {
            try
            {
                // Notifications arrive while the connection waits; a server that goes away ends the wait with an error.
                while (!token.IsCancellationRequested) await connection.WaitAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
            }
            catch (Exception e) when (e is NpgsqlException or IOException or ObjectDisposedException or InvalidOperationException)
            {
                _loss.Report($"postgres: listening on {_options.Where} stopped: {Innermost(e)}");
            }
        });
    }

    private static string QuoteIdentifier(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    public async ValueTask<PullStatus> PullAsync(SourceBatch batch, CancellationToken cancellationToken)
    {
        if (_options.Source is not { } source) return PullStatus.Empty;
        var dropped = Interlocked.Exchange(ref _droppedNotifications, 0);
        if (dropped > 0) _host.Log(PluginLogLevel.Warning, $"postgres: {dropped} notification(s) dropped: the flow did not keep up (NOTIFY cannot push back)");
        TakeNotifications(batch);
        TakeRows(batch);
        if (batch.Count > 0) return PullStatus.Data;
        if (source.Query is not null && Environment.TickCount64 >= Volatile.Read(ref _nextPollTicks))
        {
            SaveCursor();
            var found = await PollAsync(source, cancellationToken).ConfigureAwait(false);
            // A poll that found rows is followed at once by the next (a backlog drains at full speed); an empty one waits.
            Volatile.Write(ref _nextPollTicks, Environment.TickCount64 + (found ? 0 : (long)source.Interval.TotalMilliseconds));
            TakeRows(batch);
            if (batch.Count > 0) return PullStatus.Data;
        }
        // Waits for a notification or the next poll; the runtime cancels the wait when it has other work for us.
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (source.Query is not null) wait.CancelAfter(TimeSpan.FromMilliseconds(Math.Max(0, Volatile.Read(ref _nextPollTicks) - Environment.TickCount64)));
        try
        {
            await _notifications.Reader.WaitToReadAsync(wait.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return PullStatus.Empty;
        }
        TakeNotifications(batch);
        return batch.Count > 0 ? PullStatus.Data : PullStatus.Empty;
    }

    private void TakeNotifications(SourceBatch batch)
    {
        while (!batch.IsFull && _notifications.Reader.TryRead(out var n)) batch.AddImmutable(n.Payload, NotificationStream, _host.NowNs(), n.Meta);
    }

    private void TakeRows(SourceBatch batch)
    {
        while (!batch.IsFull && _rows.TryDequeue(out var row))
        {
            var pullId = batch.AddStructured(row.Data, RowStream, _host.NowNs(), row.Meta);
            _cursor.HandedOut(pullId, row.Cursor);
        }
    }

    private async Task<bool> PollAsync(PostgresSourceOptions source, CancellationToken cancellationToken)
    {
        if (_queryConnection is not { } connection || !IsOpen(connection)) return false;
        try
        {
            await using var command = new NpgsqlCommand(source.Query, connection);
            command.Parameters.Add(_cursor.ReadParameter());
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var cursorColumn = -1;
            for (var i = 0; i < reader.FieldCount; i++)
            {
                if (reader.GetName(i) == source.Cursor) cursorColumn = i;
            }
            if (cursorColumn < 0)
            {
                _host.Log(PluginLogLevel.Error, $"postgres: the query's result has no column '{source.Cursor}' (source.cursor): select it, so the next poll can start after the last row");
                return false;
            }
            var found = false;
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var record = new ValueRecord(reader.FieldCount);
                for (var i = 0; i < reader.FieldCount; i++) record.Set(reader.GetName(i), PostgresValues.FromColumn(reader.GetValue(i), reader.GetDataTypeName(i)));
                var cursor = reader.GetValue(cursorColumn);
                var inner = new ValueRecord(1);
                inner.Append("cursor", PostgresValues.FromColumn(cursor, reader.GetDataTypeName(cursorColumn)));
                var meta = new ValueRecord(1);
                meta.Append("postgres", Value.From(inner));
                _rows.Enqueue(new Row(Value.From(record), Value.From(meta), cursor));
                _cursor.Read(cursor);
                found = true;
            }
            return found;
        }
        catch (PostgresException e) when (!e.IsTransient && e.SqlState is not ("57P01" or "57P02" or "57P03"))
        {
            _host.Log(PluginLogLevel.Error, $"postgres: the source query failed on {_options.Where}: {e.MessageText} ({e.SqlState}{(e.Position > 0 ? $", at character {e.Position}" : "")}): fix source.query");
            return false;
        }
        catch (Exception e) when (e is NpgsqlException or IOException or InvalidOperationException)
        {
            _loss.Report($"postgres: polling {_options.Where} failed: {Innermost(e)}");
            return false;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Cut short by the runtime: the connection cancelled the query; the next poll asks again from the same cursor.
            return false;
        }
    }

    public void Ack(ulong streamId, ulong pullId)
    {
        if (streamId == RowStream) _cursor.Ack(pullId);
    }

    public void Fail(ulong streamId, ulong pullId)
    {
        if (streamId != RowStream || !_cursor.Fail(pullId)) return;
        // Rows not read yet go too: the next poll reads again from the last acknowledged cursor value.
        _rows.Clear();
        Volatile.Write(ref _nextPollTicks, 0);
        _host.Log(PluginLogLevel.Warning, $"postgres: a row failed downstream; the next poll reads again after {_options.Source!.Cursor} = {_cursor.CommittedValue}");
    }

    public async ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken)
    {
        if (_options.Sink is not { } sink) return SinkReply.Failed("postgres: this connector has no sink { table = ... } section: set config.sink to write");
        if (_sinkConnection is not { } connection || !IsOpen(connection) || _columns is not { } table)
        {
            var reason = $"postgres: not connected to {_options.Where}";
            _loss.Report(reason);
            return SinkReply.Failed(reason);
        }
        var rows = new List<(int Index, object?[] Values)>(batch.Count);
        List<(EventId Id, string Reason)>? failed = null;
        // Columns the batch has a value for: a column no event names keeps its default (a serial id, now()).
        var used = table.Where(c => batch.Events.Any(e => !Field(e.Event.Data, c.Field).IsNull)).ToList();
        for (var i = 0; i < batch.Count; i++)
        {
            var data = batch.Events[i].Event.Data;
            var values = new object?[used.Count];
            string? error = null;
            for (var c = 0; c < used.Count && error is null; c++)
            {
                var value = Field(data, used[c].Field);
                if (value.IsNull) continue;
                if (used[c].Type is not { } type)
                {
                    error = $"postgres: the column '{used[c].Name}' has type {used[c].TypeName}, which the sink cannot write";
                    break;
                }
                values[c] = PostgresValues.ToColumn(value, type, out var why);
                if (why is not null) error = $"postgres: the field '{string.Join('.', used[c].Field)}' for column '{used[c].Name}': {why}";
            }
            if (error is null) rows.Add((i, values));
            else (failed ??= []).Add((batch.Events[i].Id, error));
        }
        if (rows.Count > 0 && used.Count > 0)
        {
            try
            {
                await WriteAsync(connection, sink, used, rows, cancellationToken).ConfigureAwait(false);
            }
            catch (PostgresException e) when (!e.IsTransient && e.SqlState is not ("57P01" or "57P02" or "57P03"))
            {
                // The transaction rolled back: none of the batch is in the table.
                var reason = $"postgres: {_options.Where} refused the batch for '{sink.Table}': {e.MessageText} ({e.SqlState}{(e.Where is { Length: > 0 } where ? $"; {where}" : "")})";
                foreach (var (index, _) in rows) (failed ??= []).Add((batch.Events[index].Id, reason));
            }
            catch (Exception e) when (e is NpgsqlException or IOException or InvalidOperationException or OperationCanceledException)
            {
                // The commit did not come back: the batch fails and is retried after the reconnect (a duplicate
                // when the commit had happened, which an upsert absorbs).
                var reason = $"postgres: writing to {_options.Where} failed: {Innermost(e)}";
                _loss.Report(reason);
                return SinkReply.Failed(reason);
            }
        }
        else if (rows.Count > 0)
        {
            foreach (var (index, _) in rows) (failed ??= []).Add((batch.Events[index].Id, $"postgres: the event has none of the columns of '{sink.Table}' ({string.Join(", ", table.Select(c => c.Name))})"));
        }
        return SinkReply.Settle(_host, batch, failed);
    }

    private static Value Field(Value data, string[] path)
    {
        foreach (var key in path) data = data[key];
        return data;
    }

    private static async Task WriteAsync(NpgsqlConnection connection, PostgresSinkOptions sink, List<TableColumn> used, List<(int Index, object?[] Values)> rows, CancellationToken cancellationToken)
    {
        var names = string.Join(", ", used.Select(c => QuoteIdentifier(c.Name)));
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var target = sink.Table;
        if (sink.OnConflict.Count > 0)
        {
            // Upsert: COPY into a temporary table shaped like the used columns, then one INSERT ... ON CONFLICT from it.
            await using var create = new NpgsqlCommand($"CREATE TEMP TABLE tremor_upsert ON COMMIT DROP AS SELECT {names} FROM {sink.Table} WITH NO DATA; ALTER TABLE tremor_upsert ADD COLUMN tremor_seq bigserial", connection, transaction);
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            target = "tremor_upsert";
        }
        await using (var writer = await connection.BeginBinaryImportAsync($"COPY {target} ({names}) FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false))
        {
            foreach (var (_, values) in rows)
            {
                await writer.StartRowAsync(cancellationToken).ConfigureAwait(false);
                for (var c = 0; c < used.Count; c++)
                {
                    if (values[c] is { } value) await writer.WriteAsync(value, used[c].Type!.Value, cancellationToken).ConfigureAwait(false);
                    else await writer.WriteNullAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }
        if (sink.OnConflict.Count > 0)
        {
            var keys = string.Join(", ", sink.OnConflict.Select(QuoteIdentifier));
            var updates = used.Where(c => !sink.OnConflict.Contains(c.Name)).Select(c => $"{QuoteIdentifier(c.Name)} = EXCLUDED.{QuoteIdentifier(c.Name)}").ToList();
            var action = updates.Count == 0 ? "DO NOTHING" : $"DO UPDATE SET {string.Join(", ", updates)}";
            // The last event of a key in the batch wins (one INSERT may touch a row only once).
            await using var upsert = new NpgsqlCommand(
                $"INSERT INTO {sink.Table} ({names}) SELECT DISTINCT ON ({keys}) {names} FROM tremor_upsert ORDER BY {keys}, tremor_seq DESC ON CONFLICT ({keys}) {action}",
                connection, transaction);
            await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public ValueTask OnEndAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public override async ValueTask OnStopAsync(CancellationToken cancellationToken) => await ShutdownAsync().ConfigureAwait(false);

    private async Task ShutdownAsync()
    {
        if (!_loss.Stop()) return;
        SaveCursor();
        await _stop.CancelAsync().ConfigureAwait(false);
        await StopListeningAsync().ConfigureAwait(false);
        await CloseAsync(_sinkConnection).ConfigureAwait(false);
        await CloseAsync(_queryConnection).ConfigureAwait(false);
        _sinkConnection = null;
        _queryConnection = null;
        _notifications.Writer.TryComplete();
    }

    private async Task StopListeningAsync()
    {
        if (_listenStop is { } stop) await stop.CancelAsync().ConfigureAwait(false);
        if (_listening is { } listening) await listening.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _listening = null;
        _listenStop?.Dispose();
        _listenStop = null;
        await CloseAsync(_listenConnection).ConfigureAwait(false);
        _listenConnection = null;
    }

    private async Task CloseAsync(NpgsqlConnection? connection)
    {
        if (connection is null) return;
        try
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _host.Log(PluginLogLevel.Debug, $"postgres: closing a connection to {_options.Where}: {e.Message}");
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await ShutdownAsync().ConfigureAwait(false);
        _stop.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private static string Innermost(Exception e)
    {
        while (e.InnerException is { } inner) e = inner;
        return e.Message;
    }

    /// <summary>A column the sink writes: its name, the event field it takes, and how it is written (null: it cannot be).</summary>
    private sealed record TableColumn(string Name, string[] Field, NpgsqlDbType? Type, string TypeName);

    /// <summary>A row read by a poll, waiting for a pull.</summary>
    private sealed record Row(Value Data, Value Meta, object Cursor);
}
