using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// The codecs, preprocessors and postprocessors that ship with Tremor.NET, for the runtime to merge by name with the
/// ones plugins provide.
/// </summary>
public static class BuiltinCodecs
{
    /// <summary>
    /// <c>json</c>, <c>string</c>, <c>binary</c>, <c>msgpack</c>, <c>syslog</c>, <c>influx</c>, <c>binflux</c>,
    /// <c>statsd</c>, <c>dogstatsd</c>, <c>graphite</c> (also <c>graphite-plaintext</c>), <c>csv</c>, <c>yaml</c>,
    /// <c>null</c>, <c>tremor</c>, <c>avro</c>, <c>confluent-avro</c>.
    /// </summary>
    public static IReadOnlyList<ICodecFactory> Codecs { get; } =
    [
        new CodecFactory(JsonCodec.Name, static config => JsonCodec.FromConfig(config)),
        new CodecFactory(StringCodec.Name, static config => Stateless(config, new StringCodec())),
        new CodecFactory(BinaryCodec.Name, static config => Stateless(config, new BinaryCodec())),
        new CodecFactory(MsgpackCodec.Name, static config => Stateless(config, new MsgpackCodec())),
        new CodecFactory(SyslogCodec.Name, static config => Stateless(config, new SyslogCodec())),
        new CodecFactory(InfluxCodec.Name, static config => Stateless(config, new InfluxCodec())),
        new CodecFactory(BinfluxCodec.Name, static config => Stateless(config, new BinfluxCodec())),
        new CodecFactory(StatsdCodec.Name, static config => Stateless(config, new StatsdCodec())),
        new CodecFactory(DogstatsdCodec.Name, static config => Stateless(config, new DogstatsdCodec())),
        new CodecFactory(GraphiteCodec.Name, static config => Stateless(config, new GraphiteCodec())),
        new CodecFactory(GraphiteCodec.TremorName, static config => Stateless(config, new GraphiteCodec())),
        new CodecFactory(CsvCodec.Name, static config => Stateless(config, new CsvCodec())),
        new CodecFactory(YamlCodec.Name, static config => Stateless(config, new YamlCodec())),
        new CodecFactory(NullCodec.Name, static config => Stateless(config, new NullCodec())),
        new CodecFactory(TremorCodec.Name, static config => Stateless(config, new TremorCodec())),
        new CodecFactory(AvroCodec.Name, static config => AvroCodec.FromConfig(config)),
        new CodecFactory(ConfluentAvroCodec.Name, static config => ConfluentAvroCodec.FromConfig(config)),
    ];

    /// <summary>
    /// <c>separate</c>, <c>base64</c>, <c>length-prefixed</c>, <c>textual-length-prefixed</c>, <c>decompress</c>,
    /// <c>remove-empty</c>, <c>ingest-ns</c>, <c>gelf-chunking</c>, <c>streaming-decompress</c>.
    /// </summary>
    public static IReadOnlyList<IPreprocessorFactory> Preprocessors { get; } =
    [
        new PreprocessorFactory(SeparatePreprocessor.Name, static config => new SeparatePreprocessor(config)),
        new PreprocessorFactory(Base64Preprocessor.Name, static config => Stateless(config, new Base64Preprocessor())),
        new PreprocessorFactory(LengthPrefixedPreprocessor.Name, static config => new LengthPrefixedPreprocessor(config)),
        new PreprocessorFactory(TextualLengthPrefixedPreprocessor.Name, static config => new TextualLengthPrefixedPreprocessor(config)),
        new PreprocessorFactory(DecompressPreprocessor.Name, static config => new DecompressPreprocessor(config)),
        new PreprocessorFactory(RemoveEmptyPreprocessor.Name, static config => Stateless(config, new RemoveEmptyPreprocessor())),
        new PreprocessorFactory(IngestNsPreprocessor.Name, static config => Stateless(config, new IngestNsPreprocessor())),
        new PreprocessorFactory(GelfChunkingPreprocessor.Name, static config => Stateless(config, new GelfChunkingPreprocessor())),
        new PreprocessorFactory(StreamingDecompressPreprocessor.Name, static config => new StreamingDecompressPreprocessor(config)),
    ];

    /// <summary>
    /// <c>separate</c>, <c>base64</c>, <c>length-prefixed</c>, <c>textual-length-prefixed</c>, <c>compress</c>,
    /// <c>chunk</c>, <c>ingest-ns</c>, <c>gelf-chunking</c>, <c>collect</c>, <c>streaming-compress</c>.
    /// </summary>
    public static IReadOnlyList<IPostprocessorFactory> Postprocessors { get; } =
    [
        new PostprocessorFactory(SeparatePostprocessor.Name, static config => new SeparatePostprocessor(config)),
        new PostprocessorFactory(Base64Postprocessor.Name, static config => Stateless(config, new Base64Postprocessor())),
        new PostprocessorFactory(LengthPrefixedPostprocessor.Name, static config => Stateless(config, new LengthPrefixedPostprocessor())),
        new PostprocessorFactory(TextualLengthPrefixedPostprocessor.Name, static config => Stateless(config, new TextualLengthPrefixedPostprocessor())),
        new PostprocessorFactory(CompressPostprocessor.Name, static config => new CompressPostprocessor(config)),
        new PostprocessorFactory(ChunkPostprocessor.Name, static config => new ChunkPostprocessor(config)),
        new PostprocessorFactory(IngestNsPostprocessor.Name, static config => Stateless(config, new IngestNsPostprocessor())),
        new PostprocessorFactory(GelfChunkingPostprocessor.Name, static config => new GelfChunkingPostprocessor(config)),
        new PostprocessorFactory(CollectPostprocessor.Name, static config => new CollectPostprocessor(config)),
        new PostprocessorFactory(StreamingCompressPostprocessor.Name, static config => new StreamingCompressPostprocessor(config)),
    ];

    /// <summary>The built-in codec called <paramref name="name"/>, or null.</summary>
    public static ICodecFactory? FindCodec(string name) => Find(Codecs, name, static f => f.Name);

    /// <summary>The built-in preprocessor called <paramref name="name"/>, or null.</summary>
    public static IPreprocessorFactory? FindPreprocessor(string name) => Find(Preprocessors, name, static f => f.Name);

    /// <summary>The built-in postprocessor called <paramref name="name"/>, or null.</summary>
    public static IPostprocessorFactory? FindPostprocessor(string name) => Find(Postprocessors, name, static f => f.Name);

    private static T? Find<T>(IReadOnlyList<T> factories, string name, Func<T, string> nameOf)
        where T : class
    {
        foreach (var factory in factories)
        {
            if (string.Equals(nameOf(factory), name, StringComparison.Ordinal)) return factory;
        }
        return null;
    }

    /// <summary>These take no options: refuse any, so a typo is an error rather than silently ignored.</summary>
    private static T Stateless<T>(PluginConfig config, T instance)
    {
        config.RejectUnknownKeys();
        return instance;
    }

    private sealed class CodecFactory(string name, Func<PluginConfig, ICodec> create) : ICodecFactory
    {
        public string Name => name;

        public ICodec Create(PluginConfig config) => create(config);
    }

    private sealed class PreprocessorFactory(string name, Func<PluginConfig, IPreprocessor> create) : IPreprocessorFactory
    {
        public string Name => name;

        public IPreprocessor Create(PluginConfig config) => create(config);
    }

    private sealed class PostprocessorFactory(string name, Func<PluginConfig, IPostprocessor> create) : IPostprocessorFactory
    {
        public string Name => name;

        public IPostprocessor Create(PluginConfig config) => create(config);
    }
}
