"""The first toolkit: No Secret Police (Local Progress, December 2025).

Titles are the toolkit's own; summaries are written in our words. The ✓ marks the policies the
toolkit flags as useful in hostile or heavily preempting states. A policy's "terms" are the
words people use for it in email ("ALPR", "287(g)"): the mailbox import suggests the policy
when a message mentions one. The toolkit's links were lost when it was extracted, so each
resource starts without a URL for staff to fill in later.
"""

from __future__ import annotations

MESSAGING = "Messaging guidance"
IMPLEMENTATION = "Model implementation guidance"
ORDINANCE = "Model ordinance language"

TOOLKIT: list[dict] = [
    {
        "slug": "no-data",
        "title": "No Data for Secret Police",
        "summary": "Stop local surveillance systems from feeding residents' data to "
        "federal immigration enforcement.",
        "policies": [
            {
                "slug": "cancel-alpr-contracts",
                "title": "Cancel Automated License Plate Reader (ALPR) contracts",
                "short_title": "Cancel ALPR contracts",
                "terms": [
                    "ALPR",
                    "license plate reader",
                    "licence plate reader",
                    "plate reader",
                    "Flock",
                ],
                "check": True,
                "summary": "Find out which local agencies run licence plate readers and who "
                "the vendors are, learn how that data is shared with federal or out-of-state "
                "agencies, and use procurement power to end or refuse those contracts.",
                "resources": [MESSAGING],
            }
        ],
    },
    {
        "slug": "no-collaboration",
        "title": "No Collaboration with Secret Police",
        "summary": "Keep local agencies, jails and police out of federal immigration enforcement.",
        "policies": [
            {
                "slug": "robust-sanctuary-policies",
                "title": "Implement robust sanctuary policies",
                "short_title": "Robust sanctuary policies",
                "terms": ["sanctuary", "welcoming city", "ICE detainer", "detainer"],
                "check": True,
                "summary": "Close loopholes in sanctuary rules: no collecting immigration "
                "status, no honouring ICE detainers, no ICE access to local jails without a "
                "court order, and no local money, staff or property for enforcement.",
                "resources": [IMPLEMENTATION, MESSAGING],
            },
            {
                "slug": "end-287g-and-task-forces",
                "title": "End 287(g) agreements and participation in JTTFs, HSTFs, and "
                "Fusion Centers",
                "short_title": "End 287(g) and task forces",
                "terms": [
                    "287(g)",
                    "287g",
                    "JTTF",
                    "HSTF",
                    "fusion center",
                    "task force",
                ],
                "check": False,
                "summary": "Identify any 287(g) agreement or federal task force and fusion "
                "centre participation, weigh its local impact and money flows, and move to "
                "terminate it and refuse renewals.",
                "resources": [MESSAGING],
            },
            {
                "slug": "cancel-detention-contracts",
                "title": "Cancel federal detention contracts",
                "short_title": "Cancel detention contracts",
                "terms": [
                    "detention contract",
                    "IGSA",
                    "jail beds",
                    "detention agreement",
                ],
                "check": True,
                "summary": "Find intergovernmental agreements that rent local jail beds to "
                "ICE or the U.S. Marshals, gather their terms and value, and end them.",
                "resources": [IMPLEMENTATION, MESSAGING],
            },
            {
                "slug": "remove-low-level-traffic-enforcement",
                "title": "Remove traffic enforcement from low-level traffic offenses",
                "short_title": "End low-level traffic stops",
                "terms": ["traffic stop", "traffic enforcement", "pretextual stop"],
                "check": False,
                "summary": "Cut the everyday traffic stops that most often hand residents "
                "over to immigration agents after first contact with local police.",
                "resources": [ORDINANCE, MESSAGING],
            },
        ],
    },
    {
        "slug": "no-public-funds",
        "title": "No Public Funds for Secret Police",
        "summary": "Make sure local tax dollars and contractors do not help federal "
        "immigration enforcement.",
        "policies": [
            {
                "slug": "contractors-abide-by-local-law",
                "title": "Use procurement power to ensure local contractors abide by local law "
                "to protect students and families",
                "short_title": "Contractors follow local law",
                "terms": ["procurement", "contractor"],
                "check": False,
                "summary": "Write contract terms so bus companies, builders and other "
                "contractors follow local limits on contact with immigration agents, and "
                "train them on what to do if agents approach.",
                "resources": [MESSAGING],
            }
        ],
    },
    {
        "slug": "no-public-space",
        "title": "No Public Space for Secret Police",
        "summary": "Keep publicly owned land and buildings from being used to stage "
        "enforcement or detain people.",
        "policies": [
            {
                "slug": "no-enforcement-on-public-property",
                "title": "Prohibit federal immigration enforcement agencies from using "
                "municipal, county, or school owned or controlled property for any purpose "
                "without a signed judicial warrant",
                "short_title": "No enforcement on public property",
                "terms": [
                    "public property",
                    "judicial warrant",
                    "city property",
                    "county property",
                ],
                "check": True,
                "summary": "Bar immigration enforcement from using parking lots, vacant lots, "
                "garages, public buildings and parks unless agents hold a signed judicial "
                "warrant.",
                "resources": [ORDINANCE, MESSAGING],
            },
            {
                "slug": "inspect-ice-facilities-land-use",
                "title": "Conduct inspections of ICE facilities and enforce local land use policy",
                "short_title": "Inspect ICE facilities (land use)",
                "terms": ["land use", "zoning", "facility inspection", "inspect ICE"],
                "check": True,
                "summary": "Direct local agencies to check facilities run by immigration "
                "enforcement for zoning and permitting violations.",
                "resources": [MESSAGING],
            },
            {
                "slug": "enforce-health-and-safety",
                "title": "Enforce local health and safety policies where ICE detentions are "
                "taking place",
                "short_title": "Enforce health and safety codes",
                "terms": [
                    "health and safety",
                    "fire inspector",
                    "occupancy",
                    "unsanitary",
                ],
                "check": True,
                "summary": "Send building, occupancy and fire inspectors to places where "
                "people are held in unsafe or unsanitary conditions.",
                "resources": [MESSAGING],
            },
        ],
    },
    {
        "slug": "no-secret-police-in-schools",
        "title": "No Secret Police in Our Schools",
        "summary": "Protect students and families at school.",
        "policies": [
            {
                "slug": "safe-welcoming-schools",
                "title": "Develop policies and protocols to keep young people safe and create "
                "welcoming school environments",
                "short_title": "Safe, welcoming schools",
                "terms": [
                    "school protocol",
                    "student records",
                    "welcoming schools",
                    "safe schools",
                ],
                "check": True,
                "summary": "Keep student records from immigration agents without a court "
                "order or judicial warrant, and give every adult around students (staff, "
                "guards, drivers, after-school partners) a protocol for when agents appear.",
                "resources": [MESSAGING],
            }
        ],
    },
    {
        "slug": "no-impunity",
        "title": "No Impunity for Secret Police",
        "summary": "Require officers to show who they are.",
        "policies": [
            {
                "slug": "officers-identify-themselves",
                "title": "Require law enforcement to identify themselves while on duty and "
                "prohibit them from concealing their identity",
                "short_title": "Officers identify themselves",
                "terms": [
                    "masks",
                    "mask ban",
                    "identify themselves",
                    "badge number",
                    "unmask",
                ],
                "check": False,
                "summary": "Require name, badge number and agency to be displayed on duty, "
                "and prohibit masks that conceal identity, on municipal, county and "
                "school-owned property.",
                "resources": [MESSAGING],
            }
        ],
    },
]
