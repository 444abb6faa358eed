namespace Tremor.Pdk;

/// <summary>What a plugin says about itself.</summary>
/// <param name="Name">Its name, unique among loaded plugins (e.g. <c>tremor-core-connectors</c>).</param>
/// <param name="Version">Its own semantic version.</param>
/// <param name="Description">One line for <c>tremor plugins list</c>.</param>
/// <param name="PdkVersion">
/// The PDK version it was built against. Leave the default: it is compiled into the plugin from
/// <see cref="Pdk.PdkVersion.Text"/>, so it records the PDK the plugin saw.
/// </param>
public sealed record PluginManifest(string Name, string Version, string Description, string PdkVersion = Pdk.PdkVersion.Text);

/// <summary>
/// The entry point of a managed plugin: one public class with a parameterless constructor implementing this, in
/// an assembly named like the folder it is deployed in (<c>plugins/NAME/NAME.dll</c>).
/// </summary>
public interface ITremorPlugin
{
    /// <summary>Name, version and PDK version.</summary>
    PluginManifest Manifest { get; }

    /// <summary>Connector types this plugin provides.</summary>
    IReadOnlyList<IConnectorFactory> Connectors => [];

    /// <summary>Codecs this plugin provides.</summary>
    IReadOnlyList<ICodecFactory> Codecs => [];

    /// <summary>Preprocessors this plugin provides.</summary>
    IReadOnlyList<IPreprocessorFactory> Preprocessors => [];

    /// <summary>Postprocessors this plugin provides.</summary>
    IReadOnlyList<IPostprocessorFactory> Postprocessors => [];
}
