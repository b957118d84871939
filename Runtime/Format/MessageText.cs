using System.Text;

namespace Edge.Runtime.Format;

/// <summary>
/// Text taken from a file (a header, a name, a library's message about it) made safe for a one-line
/// error: control characters, non-ASCII and other non-printable characters become '?', and the text is
/// cut at a length so that a hostile file cannot fill a terminal or a log, or move its cursor.
/// </summary>
internal static class MessageText
{
    /// <summary>The usual cut for a value quoted from a file.</summary>
    public const int DefaultMax = 120;

    public static string Printable(string? text, int max = DefaultMax)
    {
        if (string.IsNullOrEmpty(text)) return "";
        var sb = new StringBuilder(Math.Min(text.Length, max) + 3);
        for (int i = 0; i < text.Length && i < max; i++) sb.Append(text[i] is >= ' ' and < (char)0x7f ? text[i] : '?');
        if (text.Length > max) sb.Append("...");
        return sb.ToString();
    }
}
