/*
 * PgTrickleNamespaceDetails: the XML namespace of the change types and the
 * location of its XSD, for Liquibase's XML parser and serializer.  The XSD
 * is in this jar at the URL's host and path, where Liquibase's entity
 * resolver looks for it; nothing is downloaded.
 */
package io.github.pgtrickle.liquibase;

import liquibase.parser.LiquibaseParser;
import liquibase.parser.NamespaceDetails;
import liquibase.parser.core.xml.XMLChangeLogSAXParser;
import liquibase.serializer.LiquibaseSerializer;
import liquibase.serializer.core.xml.XMLChangeLogSerializer;

public class PgTrickleNamespaceDetails implements NamespaceDetails {

    public static final String XSD_URL = "https://pg-trickle.github.io/xml/ns/liquibase-pgtrickle-latest.xsd";

    @Override
    public int getPriority() {
        return PRIORITY_EXTENSION;
    }

    @Override
    public boolean supports(LiquibaseSerializer serializer, String namespaceOrUrl) {
        return serializer instanceof XMLChangeLogSerializer && ours(namespaceOrUrl);
    }

    @Override
    public boolean supports(LiquibaseParser parser, String namespaceOrUrl) {
        return parser instanceof XMLChangeLogSAXParser && ours(namespaceOrUrl);
    }

    private static boolean ours(String namespaceOrUrl) {
        return StreamTableChange.NAMESPACE.equals(namespaceOrUrl) || XSD_URL.equals(namespaceOrUrl);
    }

    @Override
    public String getShortName(String namespaceOrUrl) {
        return "pgt";
    }

    @Override
    public String getSchemaUrl(String namespaceOrUrl) {
        return XSD_URL;
    }

    @Override
    public String[] getNamespaces() {
        return new String[] {StreamTableChange.NAMESPACE};
    }
}
