//! The rows of the ledgers: plain values (texts already in Chinese, dates in China
//! time) so this crate needs nothing of the server's types.

use crate::writer::{Cell, Column, LedgerRow};
use chrono::{NaiveDate, NaiveDateTime};

const fn col(header: &'static str, width: f64) -> Column {
    Column { header, width }
}

/// One hazard of the 隐患排查治理台账.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HazardRow {
    /// 所属镇(街道).
    pub town: String,
    /// 所属村(社区).
    pub village: String,
    pub enterprise_name: String,
    pub uscc: String,
    /// 隐患描述.
    pub description: String,
    /// 隐患等级: 一般隐患 / 重大隐患.
    pub severity: String,
    /// 判定依据.
    pub legal_basis: String,
    /// 发现日期.
    pub found_on: Option<NaiveDate>,
    /// 发现人.
    pub found_by: String,
    /// 整改措施 (五定).
    pub measures: Option<String>,
    /// 责任人 (五定).
    pub responsible: Option<String>,
    /// 整改资金, in yuan (五定).
    pub funds_yuan: Option<u64>,
    /// 整改时限: the hazard's deadline (the plan's, or as extended).
    pub deadline: Option<NaiveDate>,
    /// 应急预案 (五定).
    pub interim_measures: Option<String>,
    /// 整改状态.
    pub status: String,
    /// 复查日期 (the latest re-inspection).
    pub reinspected_on: Option<NaiveDate>,
    /// 复查人.
    pub reinspected_by: Option<String>,
    /// 销号日期.
    pub closed_on: Option<NaiveDate>,
    /// 挂牌督办.
    pub listed: bool,
    /// 逾期天数 (0 when not overdue).
    pub overdue_days: i64,
}

/// The columns of the hazard ledger, exactly as the campaign's template has them.
pub const HAZARD_COLUMNS: [Column; 21] = [
    col("序号", 6.0),
    col("所属镇(街道)", 12.0),
    col("所属村(社区)", 14.0),
    col("企业名称", 30.0),
    col("统一社会信用代码", 21.0),
    col("隐患描述", 40.0),
    col("隐患等级", 10.0),
    col("判定依据", 36.0),
    col("发现日期", 11.0),
    col("发现人", 10.0),
    col("整改措施", 36.0),
    col("责任人", 10.0),
    col("整改资金", 10.0),
    col("整改时限", 11.0),
    col("应急预案", 30.0),
    col("整改状态", 10.0),
    col("复查日期", 11.0),
    col("复查人", 10.0),
    col("销号日期", 11.0),
    col("挂牌督办", 9.0),
    col("逾期天数", 9.0),
];

impl LedgerRow for HazardRow {
    const TITLE: &'static str = "隐患排查治理台账";

    fn columns() -> &'static [Column] {
        &HAZARD_COLUMNS
    }

    fn cells(&self, seq: u64) -> Vec<Cell<'_>> {
        vec![
            Cell::Int(seq as i64),
            Cell::Text(&self.town),
            Cell::Text(&self.village),
            Cell::Text(&self.enterprise_name),
            Cell::Text(&self.uscc),
            Cell::Text(&self.description),
            Cell::Text(&self.severity),
            Cell::Text(&self.legal_basis),
            Cell::opt_date(self.found_on),
            Cell::Text(&self.found_by),
            Cell::opt_text(self.measures.as_deref()),
            Cell::opt_text(self.responsible.as_deref()),
            Cell::opt_int(self.funds_yuan.and_then(|y| i64::try_from(y).ok())),
            Cell::opt_date(self.deadline),
            Cell::opt_text(self.interim_measures.as_deref()),
            Cell::Text(&self.status),
            Cell::opt_date(self.reinspected_on),
            Cell::opt_text(self.reinspected_by.as_deref()),
            Cell::opt_date(self.closed_on),
            Cell::YesNo(self.listed),
            Cell::Int(self.overdue_days),
        ]
    }
}

/// One finalized inspection of the 检查记录台账.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InspectionRow {
    pub town: String,
    pub village: String,
    pub enterprise_name: String,
    pub uscc: String,
    /// 检查表: the template's title and version.
    pub template: String,
    /// 检查人.
    pub inspector: String,
    /// 检查人角色 (网格员 / 专家 / …).
    pub role: String,
    pub started_at: Option<NaiveDateTime>,
    pub finalized_at: Option<NaiveDateTime>,
    /// When the server received it.
    pub received_at: Option<NaiveDateTime>,
    /// 现场核验: 在现场 / 不在现场 / 无定位.
    pub on_site: String,
    /// Nearest photo stamp to the registered site, metres.
    pub distance_m: Option<i64>,
    /// 得分: pass rate of the answered items (0..=1), when any were scored.
    pub pass_rate: Option<f64>,
    pub passed: i64,
    pub failed: i64,
    /// 问题数 (findings).
    pub findings: i64,
    pub photos: i64,
    /// 审核状态: 已通过 / 有问题 / 已驳回 / 未审核.
    pub review: String,
    pub reviewer: Option<String>,
    pub review_comment: Option<String>,
    /// 记录哈希: SHA-256 of the canonical payload.
    pub record_hash: String,
}

/// The columns of the inspection ledger.
pub const INSPECTION_COLUMNS: [Column; 22] = [
    col("序号", 6.0),
    col("所属镇(街道)", 12.0),
    col("所属村(社区)", 14.0),
    col("企业名称", 30.0),
    col("统一社会信用代码", 21.0),
    col("检查表", 28.0),
    col("检查人", 10.0),
    col("检查人角色", 10.0),
    col("开始时间", 16.0),
    col("完成时间", 16.0),
    col("上报时间", 16.0),
    col("现场核验", 10.0),
    col("距企业(米)", 10.0),
    col("得分(合格率)", 11.0),
    col("合格项", 8.0),
    col("不合格项", 9.0),
    col("问题数", 8.0),
    col("照片数", 8.0),
    col("审核状态", 9.0),
    col("审核人", 10.0),
    col("审核意见", 30.0),
    col("记录哈希(SHA-256)", 66.0),
];

impl LedgerRow for InspectionRow {
    const TITLE: &'static str = "检查记录台账";

    fn columns() -> &'static [Column] {
        &INSPECTION_COLUMNS
    }

    fn cells(&self, seq: u64) -> Vec<Cell<'_>> {
        vec![
            Cell::Int(seq as i64),
            Cell::Text(&self.town),
            Cell::Text(&self.village),
            Cell::Text(&self.enterprise_name),
            Cell::Text(&self.uscc),
            Cell::Text(&self.template),
            Cell::Text(&self.inspector),
            Cell::Text(&self.role),
            Cell::opt_datetime(self.started_at),
            Cell::opt_datetime(self.finalized_at),
            Cell::opt_datetime(self.received_at),
            Cell::Text(&self.on_site),
            Cell::opt_int(self.distance_m),
            self.pass_rate.map_or(Cell::Empty, Cell::Percent),
            Cell::Int(self.passed),
            Cell::Int(self.failed),
            Cell::Int(self.findings),
            Cell::Int(self.photos),
            Cell::Text(&self.review),
            Cell::opt_text(self.reviewer.as_deref()),
            Cell::opt_text(self.review_comment.as_deref()),
            Cell::Text(&self.record_hash),
        ]
    }
}

/// One enterprise of the 粉尘涉爆企业底数台账: the register row with what visits
/// confirmed, and who confirmed it when.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EnterpriseRow {
    pub town: String,
    pub village: String,
    pub enterprise_name: String,
    pub uscc: String,
    pub address: Option<String>,
    pub industry: Option<String>,
    /// 涉粉.
    pub dust_involved: bool,
    /// 粉尘种类, joined with 、.
    pub dust_types: String,
    /// 涉铝镁.
    pub al_mg: bool,
    /// 单班作业人数.
    pub workers_per_shift: Option<i64>,
    /// 重点监管.
    pub key_supervision: bool,
    /// Who confirmed the dust facts (expert's verification, else a grid survey), and when.
    pub dust_confirmed_by: Option<String>,
    pub dust_confirmed_on: Option<NaiveDate>,
    /// 安全专员 (name), with phone.
    pub safety_officer: Option<String>,
    pub safety_officer_phone: Option<String>,
    /// 安全专员 seen on site.
    pub safety_officer_on_site: bool,
    pub safety_officer_confirmed_by: Option<String>,
    pub safety_officer_confirmed_on: Option<NaiveDate>,
    /// 警示教育.
    pub training: String,
    pub training_confirmed_by: Option<String>,
    pub training_confirmed_on: Option<NaiveDate>,
    /// 风险报告.
    pub risk_report: String,
    pub risk_report_confirmed_by: Option<String>,
    pub risk_report_confirmed_on: Option<NaiveDate>,
    /// 最近检查日期.
    pub last_inspected_on: Option<NaiveDate>,
}

/// The columns of the register ledger.
pub const ENTERPRISE_COLUMNS: [Column; 26] = [
    col("序号", 6.0),
    col("所属镇(街道)", 12.0),
    col("所属村(社区)", 14.0),
    col("企业名称", 30.0),
    col("统一社会信用代码", 21.0),
    col("地址", 30.0),
    col("行业", 14.0),
    col("涉粉", 6.0),
    col("粉尘种类", 20.0),
    col("涉铝镁", 7.0),
    col("单班作业人数", 8.0),
    col("重点监管", 8.0),
    col("粉尘确认人", 10.0),
    col("粉尘确认日期", 11.0),
    col("安全专员", 10.0),
    col("专员电话", 13.0),
    col("专员现场确认", 8.0),
    col("专员确认人", 10.0),
    col("专员确认日期", 11.0),
    col("警示教育", 9.0),
    col("培训确认人", 10.0),
    col("培训确认日期", 11.0),
    col("风险报告", 11.0),
    col("报告确认人", 10.0),
    col("报告确认日期", 11.0),
    col("最近检查日期", 11.0),
];

impl LedgerRow for EnterpriseRow {
    const TITLE: &'static str = "粉尘涉爆企业底数台账";

    fn columns() -> &'static [Column] {
        &ENTERPRISE_COLUMNS
    }

    fn cells(&self, seq: u64) -> Vec<Cell<'_>> {
        vec![
            Cell::Int(seq as i64),
            Cell::Text(&self.town),
            Cell::Text(&self.village),
            Cell::Text(&self.enterprise_name),
            Cell::Text(&self.uscc),
            Cell::opt_text(self.address.as_deref()),
            Cell::opt_text(self.industry.as_deref()),
            Cell::YesNo(self.dust_involved),
            Cell::Text(&self.dust_types),
            Cell::YesNo(self.al_mg),
            Cell::opt_int(self.workers_per_shift),
            Cell::YesNo(self.key_supervision),
            Cell::opt_text(self.dust_confirmed_by.as_deref()),
            Cell::opt_date(self.dust_confirmed_on),
            Cell::opt_text(self.safety_officer.as_deref()),
            Cell::opt_text(self.safety_officer_phone.as_deref()),
            Cell::YesNo(self.safety_officer_on_site),
            Cell::opt_text(self.safety_officer_confirmed_by.as_deref()),
            Cell::opt_date(self.safety_officer_confirmed_on),
            Cell::Text(&self.training),
            Cell::opt_text(self.training_confirmed_by.as_deref()),
            Cell::opt_date(self.training_confirmed_on),
            Cell::Text(&self.risk_report),
            Cell::opt_text(self.risk_report_confirmed_by.as_deref()),
            Cell::opt_date(self.risk_report_confirmed_on),
            Cell::opt_date(self.last_inspected_on),
        ]
    }
}

/// One lease of the 厂中厂台账: the site (its landlord's village), both parties, the
/// lease, the tenant's latest pre-lease check and its open and overdue hazards.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LeaseRow {
    pub town: String,
    pub village: String,
    pub site_name: String,
    pub site_address: Option<String>,
    pub landlord_name: String,
    pub landlord_uscc: String,
    pub tenant_name: String,
    pub tenant_uscc: String,
    /// 租赁楼层, as written.
    pub floors: Option<String>,
    /// 租赁面积(㎡).
    pub area_m2: Option<f64>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    /// 用途/主要工艺: the tenant's industry and dust types (the register has no use field).
    pub use_process: String,
    /// 设备随租: 是 / 否, with the equipment when described.
    pub equipment: String,
    /// 安全管理协议: 已签订 / 未签订 / blank when unknown.
    pub safety_agreement: Option<String>,
    pub checked_on: Option<NaiveDate>,
    pub checked_by: Option<String>,
    /// 不合格项数 of the latest check (blank before one).
    pub failed_items: Option<i64>,
    /// 适租状态: 未体检 / 适租 / 不适租（N项未整改：…）, or 辖区外 when withheld.
    pub status: String,
    /// 未整改隐患数: the tenant's hazards not closed (blank outside the jurisdiction).
    pub open_hazards: Option<i64>,
    /// 逾期隐患数.
    pub overdue_hazards: Option<i64>,
}

/// The columns of the 厂中厂台账.
pub const LEASE_COLUMNS: [Column; 22] = [
    col("序号", 6.0),
    col("所属镇(街道)", 12.0),
    col("所属村(社区)", 14.0),
    col("厂区名称", 24.0),
    col("厂区地址", 28.0),
    col("出租方名称", 26.0),
    col("出租方统一社会信用代码", 21.0),
    col("承租方名称", 26.0),
    col("承租方统一社会信用代码", 21.0),
    col("租赁楼层", 8.0),
    col("租赁面积(㎡)", 10.0),
    col("租赁起始日期", 11.0),
    col("租赁截止日期", 11.0),
    col("用途/主要工艺", 22.0),
    col("设备随租", 14.0),
    col("安全管理协议", 9.0),
    col("租前体检日期", 11.0),
    col("租前体检人", 10.0),
    col("不合格项数", 8.0),
    col("适租状态", 22.0),
    col("未整改隐患数", 8.0),
    col("逾期隐患数", 8.0),
];

impl LedgerRow for LeaseRow {
    const TITLE: &'static str = "厂中厂台账";

    fn columns() -> &'static [Column] {
        &LEASE_COLUMNS
    }

    fn cells(&self, seq: u64) -> Vec<Cell<'_>> {
        vec![
            Cell::Int(seq as i64),
            Cell::Text(&self.town),
            Cell::Text(&self.village),
            Cell::Text(&self.site_name),
            Cell::opt_text(self.site_address.as_deref()),
            Cell::Text(&self.landlord_name),
            Cell::Text(&self.landlord_uscc),
            Cell::Text(&self.tenant_name),
            Cell::Text(&self.tenant_uscc),
            Cell::opt_text(self.floors.as_deref()),
            Cell::opt_number(self.area_m2),
            Cell::opt_date(self.start_date),
            Cell::opt_date(self.end_date),
            Cell::Text(&self.use_process),
            Cell::Text(&self.equipment),
            Cell::opt_text(self.safety_agreement.as_deref()),
            Cell::opt_date(self.checked_on),
            Cell::opt_text(self.checked_by.as_deref()),
            Cell::opt_int(self.failed_items),
            Cell::Text(&self.status),
            Cell::opt_int(self.open_hazards),
            Cell::opt_int(self.overdue_hazards),
        ]
    }
}

/// One tip of the 举报核查台账. It has no column for the reporter: who reported a tip
/// is never exported (docs/tips.md).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TipRow {
    pub town: String,
    pub village: String,
    /// 举报来源: 12350热线 / 内部吹哨人 / 其他.
    pub source: String,
    /// 受理日期.
    pub received_on: Option<NaiveDate>,
    /// 举报内容.
    pub content: String,
    /// 被举报单位 (the registered name, else blank).
    pub enterprise_name: Option<String>,
    pub uscc: Option<String>,
    /// 地址 (as reported).
    pub address: Option<String>,
    /// 登记人.
    pub recorded_by: String,
    /// 核查人.
    pub assignee: Option<String>,
    /// 核查期限.
    pub deadline: Option<NaiveDate>,
    /// 状态: 待指派 / 核查中 / 已核查 / 已撤销.
    pub status: String,
    /// 核查结论: 属实 / 部分属实 / 不属实.
    pub outcome: Option<String>,
    /// 核查日期.
    pub verified_on: Option<NaiveDate>,
    /// 核查情况.
    pub finding: Option<String>,
    /// 逾期.
    pub overdue: bool,
    /// 奖励决定.
    pub reward: Option<String>,
    /// 奖励金额, in yuan.
    pub reward_yuan: Option<i64>,
    /// 奖励说明.
    pub reward_note: Option<String>,
}

/// The columns of the tip ledger.
pub const TIP_COLUMNS: [Column; 20] = [
    col("序号", 6.0),
    col("所属镇(街道)", 12.0),
    col("所属村(社区)", 14.0),
    col("举报来源", 11.0),
    col("受理日期", 11.0),
    col("举报内容", 40.0),
    col("被举报单位", 28.0),
    col("统一社会信用代码", 21.0),
    col("地址", 28.0),
    col("登记人", 10.0),
    col("核查人", 10.0),
    col("核查期限", 11.0),
    col("状态", 9.0),
    col("核查结论", 9.0),
    col("核查日期", 11.0),
    col("核查情况", 36.0),
    col("逾期", 6.0),
    col("奖励决定", 10.0),
    col("奖励金额(元)", 10.0),
    col("奖励说明", 24.0),
];

impl LedgerRow for TipRow {
    const TITLE: &'static str = "举报核查台账";

    fn columns() -> &'static [Column] {
        &TIP_COLUMNS
    }

    fn cells(&self, seq: u64) -> Vec<Cell<'_>> {
        vec![
            Cell::Int(seq as i64),
            Cell::Text(&self.town),
            Cell::Text(&self.village),
            Cell::Text(&self.source),
            Cell::opt_date(self.received_on),
            Cell::Text(&self.content),
            Cell::opt_text(self.enterprise_name.as_deref()),
            Cell::opt_text(self.uscc.as_deref()),
            Cell::opt_text(self.address.as_deref()),
            Cell::Text(&self.recorded_by),
            Cell::opt_text(self.assignee.as_deref()),
            Cell::opt_date(self.deadline),
            Cell::Text(&self.status),
            Cell::opt_text(self.outcome.as_deref()),
            Cell::opt_date(self.verified_on),
            Cell::opt_text(self.finding.as_deref()),
            Cell::YesNo(self.overdue),
            Cell::opt_text(self.reward.as_deref()),
            Cell::opt_int(self.reward_yuan),
            Cell::opt_text(self.reward_note.as_deref()),
        ]
    }
}

/// One line of the 专项行动进度表: a duty of the campaign in the division as a whole (the
/// first line of each duty) or in one of its child divisions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CoverageRow {
    /// The duty's number in the notice.
    pub duty_no: i64,
    /// 工作任务.
    pub duty_title: String,
    /// 时限 at this line's level, if the duty sets one there.
    pub deadline: Option<NaiveDate>,
    /// 区域: the division's name (the whole division's line says 合计).
    pub area: String,
    pub area_code: String,
    /// 适用企业.
    pub applicable: i64,
    pub done: i64,
    pub not_done: i64,
    pub overdue: i64,
}

/// The columns of the progress sheet.
pub const COVERAGE_COLUMNS: [Column; 11] = [
    col("序号", 6.0),
    col("任务序号", 8.0),
    col("工作任务", 30.0),
    col("时限", 11.0),
    col("区域", 18.0),
    col("区划代码", 14.0),
    col("适用企业数", 10.0),
    col("已完成", 8.0),
    col("未完成", 8.0),
    col("逾期未完成", 10.0),
    col("完成率", 8.0),
];

impl LedgerRow for CoverageRow {
    const TITLE: &'static str = "专项行动进度表";

    fn columns() -> &'static [Column] {
        &COVERAGE_COLUMNS
    }

    fn cells(&self, seq: u64) -> Vec<Cell<'_>> {
        vec![
            Cell::Int(seq as i64),
            Cell::Int(self.duty_no),
            Cell::Text(&self.duty_title),
            Cell::opt_date(self.deadline),
            Cell::Text(&self.area),
            Cell::Text(&self.area_code),
            Cell::Int(self.applicable),
            Cell::Int(self.done),
            Cell::Int(self.not_done),
            Cell::Int(self.overdue),
            if self.applicable > 0 {
                Cell::Percent(self.done as f64 / self.applicable as f64)
            } else {
                Cell::Empty
            },
        ]
    }
}
