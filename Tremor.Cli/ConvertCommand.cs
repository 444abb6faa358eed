using Tremor.Actors.Configuration;
using Tremor.Actors.Configuration.Troy;
using Tremor.Pdk;

namespace Tremor.Cli;

/// <summary><c>tremor convert FILE.troy</c>: print the HOCON of a troy deployment, the same flows <c>tremor run</c> runs.</summary>
public static class ConvertCommand
{
    /// <summary>Prints the HOCON to <paramref name="output"/>; returns 0, or 2 with one error on <paramref name="error"/>.</summary>
    public static int Convert(FileInfo file, TextWriter output, TextWriter error)
    {
        TroyConversion? troy = null;
        try
        {
            if (!TroyConfig.IsTroyFile(file.FullName)) throw new ConfigException(file.FullName, "expected a troy deployment (a .troy file); HOCON files run as they are");
            troy = TroyConfig.Convert(file.FullName);
            // Read back as `tremor run` would, so what is printed is known to be a valid deployment.
            TremorConfig.ReadSettings(TremorConfig.Parse(troy.Hocon, file.FullName), file.FullName);
            output.Write(troy.Hocon);
            return 0;
        }
        catch (ConfigException e)
        {
            if (troy is not null) e = troy.Locate(e);
            error.WriteLine($"error: {e.Message}");
            return RunCommand.ConfigError;
        }
    }
}
