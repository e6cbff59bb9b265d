"""ASP.NET detailed error pages ("Server Error in '/' Application."), as with customErrors Off."""

# The markup keeps the site's own long lines, so line length is not checked here.
# ruff: noqa: E501

from __future__ import annotations

from html import escape

from durban_valuations.replica.aspnet import quote_rejected_value
from durban_valuations.replica.fault_config import SqlError

VERSION_LINE = "Microsoft .NET Framework Version:4.0.30319; ASP.NET Version:4.8.4494.0"
UNHANDLED_DESCRIPTION = (
    "An unhandled exception occurred during the execution of the current web request. "
    "Please review the stack trace for more information about the error and where it "
    "originated in the code."
)
PAGE_FRAMES = (
    "System.Web.UI.Control.OnLoad(EventArgs e) +95",
    "System.Web.UI.Control.LoadRecursive() +59",
    "System.Web.UI.Page.ProcessRequestMain(Boolean includeStagesBeforeAsyncPoint, "
    "Boolean includeStagesAfterAsyncPoint) +678",
)


class ReplicaServerError(Exception):
    """Error that the replica returns as an ASP.NET error page with an HTTP status."""

    def __init__(
        self,
        status: int,
        exception_type: str,
        message: str,
        stack: tuple[str, ...] = (),
        description: str = UNHANDLED_DESCRIPTION,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.exception_type = exception_type
        self.message = message
        self.stack = stack
        self.description = description


def null_reference(page_class: str) -> ReplicaServerError:
    """Return the error of a page that reads a missing query parameter."""
    return ReplicaServerError(
        500,
        "System.NullReferenceException",
        "Object reference not set to an instance of an object.",
        (f"{page_class}.Page_Load(Object sender, EventArgs e) +412", *PAGE_FRAMES),
    )


def index_out_of_range() -> ReplicaServerError:
    """Return the error of the details page when the query has fewer than 3 parameters."""
    return ReplicaServerError(
        500,
        "System.ArgumentOutOfRangeException",
        "Index was out of range. Must be non-negative and less than the size of the collection.\r\n"
        "Parameter name: index",
        (
            "System.Collections.ArrayList.get_Item(Int32 index) +14490678",
            "System.Collections.Specialized.NameValueCollection.Get(Int32 index) +22",
            "ETH_GV.Controls.SearchResult.Page_Load(Object sender, EventArgs e) +85",
            *PAGE_FRAMES,
        ),
    )


def input_format_error() -> ReplicaServerError:
    """Return the error of the details page when a parameter is not an integer."""
    return ReplicaServerError(
        500,
        "System.FormatException",
        "Input string was not in a correct format.",
        (
            "System.Number.StringToNumber(String str, NumberStyles options, NumberBuffer& number, "
            "NumberFormatInfo info, Boolean parseDecimal) +14516459",
            "System.Number.ParseInt32(String s, NumberStyles style, NumberFormatInfo info) +305",
            "ETH_GV.Controls.SearchResult.Page_Load(Object sender, EventArgs e) +128",
            *PAGE_FRAMES,
        ),
    )


def unknown_pin(pin: int) -> ReplicaServerError:
    """Return the error the details page gives for an unknown PIN when configured to fail."""
    return ReplicaServerError(
        500,
        "System.NullReferenceException",
        "Object reference not set to an instance of an object.",
        (f"ETH_GV.Controls.SearchResult.LoadDetails(Int32 pin={pin}) +57", *PAGE_FRAMES),
    )


def dangerous_value(collection: str, key: str, value: str) -> ReplicaServerError:
    """Return the request-validation error for a value such as `<script`."""
    return ReplicaServerError(
        500,
        "System.Web.HttpRequestValidationException",
        f"A potentially dangerous Request.{collection} value was detected from the client "
        f'({key}="{quote_rejected_value(value)}").',
        (
            "System.Web.HttpRequest.ValidateString(String value, String collectionKey, "
            "RequestValidationSource requestCollection) +9941168",
            f"System.Web.HttpRequest.get_{collection}() +180",
            *PAGE_FRAMES,
        ),
        description=(
            "ASP.NET has detected data in the request that is potentially dangerous because it "
            "might include HTML markup or script. The data might represent an attempt to "
            "compromise the security of your application."
        ),
    )


def dangerous_path(character: str) -> ReplicaServerError:
    """Return the HTTP 400 error for a path with a character such as `:` or `*`."""
    return ReplicaServerError(
        400,
        "System.Web.HttpException",
        f"A potentially dangerous Request.Path value was detected from the client ({character}).",
        ("System.Web.HttpRequest.ValidateInputIfRequiredByConfig() +9941168",),
    )


def not_found(path: str) -> ReplicaServerError:
    """Return the HTTP 404 page for a file the site does not have."""
    return ReplicaServerError(
        404,
        "System.Web.HttpException",
        "The resource cannot be found.",
        (),
        description=(
            "HTTP 404. The resource you are looking for (or one of its dependencies) could have "
            "been removed, had its name changed, or is temporarily unavailable.  Please review "
            f"the following URL and make sure that it is spelled correctly.<br><br>"
            f"<b> Requested URL: </b>{escape(path)}"
        ),
    )


def invalid_viewstate() -> ReplicaServerError:
    """Return the error of a postback whose `__VIEWSTATE` does not decode or verify."""
    return ReplicaServerError(
        500,
        "System.Web.HttpException",
        "Validation of viewstate MAC failed. If this application is hosted by a Web Farm or "
        "cluster, ensure that <machineKey> configuration specifies the same validationKey and "
        "validation algorithm. AutoGenerate cannot be used in a cluster.",
        ("System.Web.UI.ViewStateException: Invalid viewstate.",),
    )


def invalid_postback_argument() -> ReplicaServerError:
    """Return the event-validation error of a posted value the page never rendered."""
    return ReplicaServerError(
        500,
        "System.ArgumentException",
        "Invalid postback or callback argument.  Event validation is enabled using "
        '<pages enableEventValidation="true"/> in configuration or <%@ Page '
        'EnableEventValidation="true" %> in a page.',
        (
            "System.Web.UI.ClientScriptManager.ValidateEvent(String uniqueId, String argument) +9787757",
            "System.Web.UI.WebControls.DropDownList.LoadPostData(String postDataKey, "
            "NameValueCollection postCollection) +62",
            "System.Web.UI.Page.ProcessPostData(NameValueCollection postData, Boolean fBeforeLoad) +754",
        ),
    )


def render_error_page(error: ReplicaServerError) -> str:
    """Render the detailed error page: title, message, description, stack trace, version line."""
    message = escape(error.message, quote=False)
    exception_line = f"[{error.exception_type.rsplit('.', 1)[-1]}: {message}]"
    stack = "\r\n".join(["", exception_line, *(f"   {escape(frame)}" for frame in error.stack), ""])
    details = ""
    if error.status != 404:
        details = (
            f"            <b> Exception Details: </b>{escape(error.exception_type)}: {message}<br><br>\r\n"
            "            <b>Stack Trace:</b> <br><br>\r\n"
            '            <table width=100% bgcolor="#ffffcc">\r\n'
            f"               <tr><td><code><pre>{stack}</pre></code></td></tr>\r\n"
            "            </table>\r\n            <br>\r\n"
        )
    return (
        "<!DOCTYPE html>\r\n<html>\r\n    <head>\r\n"
        f"        <title>{message}</title>\r\n"
        '        <meta name="viewport" content="width=device-width" />\r\n'
        '    </head>\r\n\r\n    <body bgcolor="white">\r\n\r\n'
        "            <span><H1>Server Error in '/' Application.<hr width=100% size=1 color=silver></H1>\r\n\r\n"
        f"            <h2> <i>{message}</i> </h2></span>\r\n\r\n"
        '            <font face="Arial, Helvetica, Geneva, SunSans-Regular, sans-serif ">\r\n\r\n'
        f"            <b> Description: </b>{error.description}\r\n            <br><br>\r\n\r\n"
        f"{details}"
        "            <hr width=100% size=1 color=silver>\r\n\r\n"
        f"            <b>Version Information:</b>&nbsp;{VERSION_LINE}\r\n\r\n"
        "            </font>\r\n\r\n    </body>\r\n</html>\r\n"
    )


# Messages of the SQL Server failures in the live site's error logs. The database name is a
# neutral stand-in, because the logs name the municipality's real database.
SQL_ERROR_MESSAGES: dict[SqlError, tuple[str, str]] = {
    "network": (
        "System.Data.SqlClient.SqlException",
        "A network-related or instance-specific error occurred while establishing a connection "
        "to SQL Server. The server was not found or was not accessible. Verify that the instance "
        "name is correct and that SQL Server is configured to allow remote connections. "
        "(provider: Named Pipes Provider, error: 40 - Could not open a connection to SQL Server)",
    ),
    "pool_timeout": (
        "System.InvalidOperationException",
        "Timeout expired.  The timeout period elapsed prior to obtaining a connection from the "
        "pool.  This may have occurred because all pooled connections were in use and max pool "
        "size was reached.",
    ),
    "permission_denied": (
        "System.Data.SqlClient.SqlException",
        "The EXECUTE permission was denied on the object 'Get_DropDownFillValues', "
        "database 'ValuationRoll', schema 'dbo'.",
    ),
}
# The live logs show the SQL errors of the criteria pages with this suffix on the message.
CRITERIA_ERROR_SUFFIX = "LoadDataBase-->GetSuburbs"


def criteria_database_error(error: SqlError, page_class: str) -> ReplicaServerError:
    """Return the error of a criteria page whose drop-down lists failed to load."""
    _, message = SQL_ERROR_MESSAGES[error]
    return ReplicaServerError(
        500,
        "System.Exception",
        f"{message}{CRITERIA_ERROR_SUFFIX}",
        (
            "DataWorld.XML.LoadDataBase.Get_DropDownValues(String DropDownType) +412",
            f"{page_class}.LoadPageData() +96",
            f"{page_class}.Page_Load(Object sender, EventArgs e) +38",
            *PAGE_FRAMES,
        ),
    )


def page_database_error(error: SqlError, page_class: str) -> ReplicaServerError:
    """Return an SQL error of the result or details page.

    NOTE: the live logs hold no SQL error of these pages, so the exception type, the missing
    suffix and the stack are this replica's assumption.
    """
    exception_type, message = SQL_ERROR_MESSAGES[error]
    return ReplicaServerError(
        500,
        exception_type,
        message,
        (
            "System.Data.SqlClient.SqlConnection.OnError(SqlException exception, "
            "Boolean breakConnection, Action`1 wrapCloseInAction) +2444190",
            f"{page_class}.Page_Load(Object sender, EventArgs e) +211",
            *PAGE_FRAMES,
        ),
    )
