// Implementation choice: Npgsql (the .NET PostgreSQL driver) in this plugin's own load context; binary COPY for the
// sink's batches, one transaction per batch, so an ack means the rows were committed.
using Tremor.Pdk;

namespace Tremor.Connectors.Postgres;

/// <summary>The PostgreSQL connector: <c>postgres</c>, sink (COPY or upsert into a table) and source (polled query, LISTEN).</summary>
public sealed class PostgresPlugin : ITremorPlugin
{
    /// <inheritdoc />
    public PluginManifest Manifest { get; } = new("postgres", "0.1.0", "PostgreSQL connector: postgres (binary COPY or upsert, acked after commit; a query polled with a cursor, LISTEN/NOTIFY)");

    /// <inheritdoc />
    public IReadOnlyList<IConnectorFactory> Connectors { get; } = [new PostgresFactory()];
}

/// <summary>
/// <c>postgres</c>: writes events as rows of <c>sink.table</c> and reads rows of <c>source.query</c> (and NOTIFY payloads
/// of <c>source.channels</c>). Keys: url, username, password, tls, connect-timeout, source { query, cursor, start,
/// interval, channels }, sink { table, columns, on-conflict }.
/// </summary>
public sealed class PostgresFactory : IConnectorFactory
{
    /// <inheritdoc />
    public string Type => "postgres";

    /// <inheritdoc />
    public string Description => "PostgreSQL: sink by binary COPY (or upsert with on-conflict), acked after commit; source polls a query after the last acked cursor value, and LISTENs (keys: url, username, password, tls, connect-timeout, source { query, cursor, start, interval, channels }, sink { table, columns, on-conflict })";

    /// <inheritdoc />
    public ConnectorKinds Kinds => ConnectorKinds.Both;

    /// <inheritdoc />
    public string? DefaultCodec => "json";

    /// <inheritdoc />
    public IConnector Create(ConnectorContext context) => new PostgresConnector(context.Host, PostgresOptions.Read(context.Config));
}
